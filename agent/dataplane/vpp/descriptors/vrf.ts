// VRFs as VPP FIB tables, IPv4 and IPv6 with the same id, named `netloom:<network>` so
// retrieve can tell netloom's tables from tables someone else made (reported as external:
// they satisfy dependencies but are never deleted).
import { PREFIX, vrfKey } from '../../../items/keys.ts';
import { vrfDependencies } from '../../../items/dependencies.ts';
import type { Vrf } from '../../../items/values.ts';
import type { Descriptor, Retrieved } from '../../../scheduler/descriptor.ts';
import type { FibCalls } from '../calls/fib.ts';
import { MAX_TAG } from '../naming.ts';
import { check } from '../validate.ts';

const NAME_PREFIX = 'netloom:';

export const vrfTableName = (v: Vrf): string => `${NAME_PREFIX}${v.network}`.slice(0, MAX_TAG);

export function vrfDescriptor(ports: {
  fib: Pick<FibCalls, 'addTable' | 'deleteTable' | 'tables'>;
}): Descriptor<Vrf, undefined> {
  return {
    name: 'vrf',
    keyPrefix: PREFIX.vrf,

    validate(key, v) {
      check(key, [
        !(Number.isInteger(v.id) && v.id > 0 && v.id < 2 ** 32) &&
          `id ${v.id} out of range (VRF 0 is implicit)`,
        key !== vrfKey(v.id) && 'key does not match the id',
      ]);
    },

    dependencies: (_key, v) => vrfDependencies(v),

    async create(_key, v) {
      await ports.fib.addTable(v.id, false, vrfTableName(v));
      await ports.fib.addTable(v.id, true, vrfTableName(v));
      return undefined;
    },

    async delete(_key, v) {
      await ports.fib.deleteTable(v.id, true);
      await ports.fib.deleteTable(v.id, false);
    },

    async retrieve(ctx) {
      const tables = await ports.fib.tables();
      const v6 = new Set(tables.filter((t) => t.ipv6).map((t) => t.id));
      const out: Retrieved<Vrf, undefined>[] = [];
      for (const t of tables) {
        if (t.ipv6 || t.id === 0) continue;
        const key = vrfKey(t.id);
        const want = ctx.desired.get(key);
        if (!t.name.startsWith(NAME_PREFIX)) {
          out.push({ key, value: want ?? { id: t.id, network: t.name, subnets: [] }, origin: 'external' });
        } else if (want !== undefined && vrfTableName(want) === t.name && v6.has(t.id)) {
          out.push({ key, value: want, origin: 'netloom' });
        } else {
          out.push({
            key,
            value: {
              id: t.id,
              network: t.name.slice(NAME_PREFIX.length) + (v6.has(t.id) ? '' : ' (no IPv6 table)'),
              subnets: [],
            },
            origin: 'netloom',
          });
        }
      }
      return out;
    },
  };
}
