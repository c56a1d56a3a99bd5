// Reading one interface's live state through an IpRunner: link, addresses, routes of both
// families in every table.
import { InterfaceNotFoundError, KernelError } from './errors.ts';
import type { IpRunner } from './iproute.ts';
import type { LinkFacts, Snapshot } from './model.ts';
import { parseAddresses, parseLink, parseRoutes } from './snapshot.ts';

const isMissing = (err: unknown): boolean =>
  err instanceof KernelError && /does not exist|Cannot find device/i.test(err.message);

export async function readLink(ip: IpRunner, name: string): Promise<LinkFacts | undefined> {
  try {
    return parseLink(await ip.json(['-d', 'link', 'show', 'dev', name]));
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw err;
  }
}

export async function readSnapshot(ip: IpRunner, name: string): Promise<Snapshot> {
  const link = await readLink(ip, name);
  if (!link) throw new InterfaceNotFoundError(`interface ${name} does not exist`);
  const [addrs, v4, v6] = await Promise.all([
    ip.json(['address', 'show', 'dev', name]),
    ip.json(['-N', '-4', 'route', 'show', 'table', 'all', 'dev', name]),
    ip.json(['-N', '-6', 'route', 'show', 'table', 'all', 'dev', name]),
  ]);
  return {
    link,
    addresses: parseAddresses(addrs),
    routes: [...parseRoutes(v4, 'inet'), ...parseRoutes(v6, 'inet6')],
  };
}
