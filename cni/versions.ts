// Versions the shim speaks, and the result in each version's shape (pure). netloom answers
// 0.3.0 through 1.1.0; 0.1.0/0.2.0 results lack the interfaces list chained plugins need.
import { CniCode, CniError } from './errors.ts';
import type { CniResult__Output } from '../proto/gen/netloom/cni/v1/CniResult.ts';

export const SUPPORTED_VERSIONS = ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;
export const LATEST_VERSION = '1.1.0';

export function checkVersion(version: string): void {
  if (!(SUPPORTED_VERSIONS as readonly string[]).includes(version)) {
    throw new CniError(
      CniCode.IncompatibleVersion,
      `cniVersion ${JSON.stringify(version)} is not supported`,
      {
        details: `supported: ${SUPPORTED_VERSIONS.join(', ')}`,
      },
    );
  }
}

export function versionResult(requested: string | undefined): {
  cniVersion: string;
  supportedVersions: string[];
} {
  return { cniVersion: requested ?? LATEST_VERSION, supportedVersions: [...SUPPORTED_VERSIONS] };
}

const isV1 = (v: string): boolean => v.startsWith('1.');

function family(cidr: string): '4' | '6' {
  return cidr.includes(':') ? '6' : '4';
}

/** The agent's result in the JSON shape of `version`. */
export function formatResult(result: CniResult__Output, version: string): Record<string, unknown> {
  const v1 = isV1(version);
  const interfaces = result.interfaces.map((i) => ({
    name: i.name,
    ...(i.mac ? { mac: i.mac } : {}),
    ...(version === '1.1.0' && i.mtu ? { mtu: i.mtu } : {}),
    sandbox: i.sandbox,
  }));
  const ips = result.ips.map((ip) => ({
    ...(v1 ? {} : { version: family(ip.address) }),
    address: ip.address,
    ...(ip.gateway ? { gateway: ip.gateway } : {}),
    ...(ip.interface >= 0 ? { interface: ip.interface } : {}),
  }));
  const routes = result.routes.map((r) => ({
    dst: r.dst,
    ...(r.gw ? { gw: r.gw } : {}),
    ...(v1 && r.mtu ? { mtu: r.mtu } : {}),
    ...(v1 && r.priority ? { priority: r.priority } : {}),
    ...(v1 && r.table ? { table: r.table } : {}),
    ...(v1 && r.scope ? { scope: r.scope } : {}),
  }));
  const d = result.dns;
  const dns = d
    ? {
        ...(d.nameservers.length ? { nameservers: d.nameservers } : {}),
        ...(d.domain ? { domain: d.domain } : {}),
        ...(d.search.length ? { search: d.search } : {}),
        ...(d.options.length ? { options: d.options } : {}),
      }
    : {};
  return { cniVersion: version, interfaces, ips, ...(routes.length ? { routes } : {}), dns };
}
