// `netloom certs`: the certificates netloom's etcd runs with (ADR 0008) — a CA, etcd's server
// certificate for the addresses and names it is reached by, and one client certificate per
// component — into one directory, keys 0600, every file written atomically. Run again, it keeps
// what is still right and issues again only what is missing, mismatched or close to expiry
// (`--renew` issues every leaf again); it never replaces a CA.
import { z } from 'zod';
import { bool, list, loadConfig, num } from '../lib/config.ts';
import { DEFAULT_CLIENTS, ensurePki, type PkiFiles } from '../lib/etcd/pki.ts';

export const certsConfigSchema = z.object({
  /** The directory to fill (made if missing). */
  dir: z.string({ error: 'required: --dir DIR, the directory to fill' }).min(1),
  /** Addresses etcd is reached at: its server certificate's IP SANs. */
  ip: list(z.string()).default(['127.0.0.1']),
  /** Names etcd is reached by (DNS SANs); `localhost` also covers TLS over a unix socket. */
  dns: list(z.string()).default(['localhost']),
  /** One client certificate each (CN netloom-<name>). */
  clients: list(z.string()).default([...DEFAULT_CLIENTS]),
  /** Validity of the server and client certificates. */
  days: num().default(365),
  /** Validity of a CA made by this run. */
  caDays: num().default(3650),
  /** Issue the server and client certificates again even if they are fine. */
  renew: bool().default(false),
});

export type CertsConfig = z.infer<typeof certsConfigSchema>;

/** What to pass where: etcd's flags and each component's, with this directory's paths. */
export function usageLines(files: PkiFiles): string[] {
  const lines = [
    `etcd:   --client-cert-auth --trusted-ca-file=${files.ca} --cert-file=${files.server.cert} --key-file=${files.server.key}`,
    '        (listen and advertise https:// client URLs only)',
  ];
  for (const [name, pair] of Object.entries(files.clients)) {
    const who = name === 'admin' ? 'admin (netloom ctl, etcdctl)' : `netloom ${name}`;
    lines.push(`${who}:`);
    lines.push(
      `        --etcd-endpoints https://<etcd>:2379 --etcd-ca ${files.ca} --etcd-cert ${pair.cert} --etcd-key ${pair.key}`,
    );
  }
  const admin = files.clients['admin'];
  if (admin) {
    lines.push(
      `etcdctl: --endpoints https://<etcd>:2379 --cacert ${files.ca} --cert ${admin.cert} --key ${admin.key}`,
    );
  }
  return lines;
}

export async function main(argv: string[]): Promise<number> {
  const { config } = loadConfig(certsConfigSchema, { argv });
  const { files, written } = await ensurePki({
    dir: config.dir,
    ips: config.ip,
    dnsNames: config.dns,
    clients: config.clients,
    days: config.days,
    caDays: config.caDays,
    renew: config.renew,
  });
  const out = [
    written.length === 0
      ? `netloom certs: ${config.dir} already holds what was asked; nothing written`
      : `netloom certs: wrote ${written.length} files in ${config.dir}:\n${written.map((f) => `  ${f}`).join('\n')}`,
    '',
    ...usageLines(files),
    '',
  ];
  process.stdout.write(out.join('\n'));
  return 0;
}
