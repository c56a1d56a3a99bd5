// The CNI operations of the agent, independent of gRPC. ADD allocates the pod's address (IPAM
// persists it in etcd before answering), records the attachment in the node's attachment
// store, commits the pod's items to the KV scheduler and answers only once they are applied.
// DEL is idempotent and succeeds when nothing is left. All operations on one container ID are
// serialised; GC tears down what the runtime no longer lists. Every operation answers a
// CniReply and never throws. It is also the pipeline's PodSource: items() lists every local
// pod's items for full resyncs.
import type { Logger } from '../../lib/logging.ts';
import type { Registry } from '../../lib/metrics.ts';
import type { CniReply } from '../../proto/gen/netloom/cni/v1/CniReply.ts';
import type { CniRequest__Output } from '../../proto/gen/netloom/cni/v1/CniRequest.ts';
import type { GcRequest__Output } from '../../proto/gen/netloom/cni/v1/GcRequest.ts';
import type { Attachment } from '../attachments/attachment.ts';
import { podInterfaceKey } from '../items/keys.ts';
import type { PodInterface } from '../items/values.ts';
import type { Item } from '../scheduler/descriptor.ts';
import { CniCode, CniFailure } from './errors.ts';
import { KeyedMutex } from './keyed-mutex.ts';
import { cniMetrics, type CniMetrics } from './metrics.ts';
import { dnsOf, prevResultIps, validAttachmentsOf } from './netconf.ts';
import { identify, type Identity } from './request.ts';
import { cniResult, type PodInterfaceInfo } from './result.ts';
import type { AttachmentsPort, IpamPort, Readiness, SchedulerPort } from './ports.ts';

export interface CniServiceOptions {
  ipam: IpamPort;
  scheduler: SchedulerPort;
  attachments: AttachmentsPort;
  /** A pod attachment's items, the pod interface first (agent/renderers/pods.ts). */
  render: (a: Attachment) => Item[];
  /** Whether the node can wire pods now (node ID claimed, gateway and overlay applied…). */
  ready: () => Readiness;
  logger: Logger;
  registry?: Registry;
  /** How long ADD waits for the pod's items to be applied. */
  addTimeoutMs?: number;
}

type Op = 'add' | 'del' | 'check' | 'status' | 'gc';

const attachmentId = (containerId: string, ifname: string): string => `${containerId}/${ifname}`;
const podKeyOf = (a: Pick<Attachment, 'namespace' | 'pod' | 'ifname'>): string =>
  podInterfaceKey(a.namespace, a.pod, a.ifname);

export class CniService {
  private readonly opts: CniServiceOptions;
  private readonly mutex = new KeyedMutex();
  /** Which attachment's items are committed for each pod interface key. */
  private readonly owner = new Map<string, string>();
  private readonly metrics: CniMetrics;

  constructor(opts: CniServiceOptions) {
    this.opts = opts;
    this.metrics = cniMetrics(opts.registry);
    // Recorded attachments, oldest first: where two share a pod interface, the newer owns it.
    for (const a of opts.attachments.all()) this.owner.set(podKeyOf(a), a.containerId);
  }

  /** Every local pod's items (each pod interface's owning attachment): the PodSource. */
  items(): Item[] {
    return this.opts.attachments
      .all()
      .filter((a) => this.owner.get(podKeyOf(a)) === a.containerId)
      .flatMap((a) => this.opts.render(a));
  }

  add(req: CniRequest__Output): Promise<CniReply> {
    return this.answer('add', req.containerId, async () => {
      const id = identify(req, { needNetns: true });
      const readiness = this.opts.ready();
      if (!readiness.ready)
        throw new CniFailure(
          CniCode.TryAgainLater,
          `netloom agent not ready: ${readiness.reason ?? 'starting'}`,
        );
      return this.mutex.run(id.containerId, () => this.doAdd(id, req));
    });
  }

  del(req: CniRequest__Output): Promise<CniReply> {
    return this.answer('del', req.containerId, async () => {
      const id = identify(req, { needNetns: false });
      await this.mutex.run(id.containerId, () => this.detach(id.containerId, id.ifname));
      return {};
    });
  }

  check(req: CniRequest__Output): Promise<CniReply> {
    return this.answer('check', req.containerId, async () => {
      const id = identify(req, { needNetns: true });
      await this.mutex.run(id.containerId, () =>
        Promise.resolve().then(() => this.doCheck(id, req.networkConfig)),
      );
      return {};
    });
  }

  status(): Promise<CniReply> {
    return this.answer('status', '', () => {
      const r = this.opts.ready();
      if (!r.ready)
        return Promise.reject(
          new CniFailure(CniCode.NotAvailable, `netloom agent not ready: ${r.reason ?? 'starting'}`),
        );
      return Promise.resolve({});
    });
  }

  gc(req: GcRequest__Output): Promise<CniReply> {
    return this.answer('gc', '', async () => {
      const valid = new Set(
        [...req.validAttachments, ...validAttachmentsOf(req.networkConfig)].map((v) =>
          attachmentId(v.containerId, v.ifname),
        ),
      );
      const failures: string[] = [];
      for (const a of this.opts.attachments.all()) {
        if (valid.has(attachmentId(a.containerId, a.ifname)) || this.mutex.busy(a.containerId)) continue;
        await this.mutex
          .run(a.containerId, () => this.detach(a.containerId, a.ifname))
          .catch((err: unknown) => failures.push(`${a.containerId}: ${String(err)}`));
      }
      // Addresses allocated by an ADD that never recorded its attachment (agent died in between).
      for (const r of this.opts.ipam.records()) {
        const { containerId, ifname, network } = r.entry;
        if (
          network !== '' ||
          valid.has(attachmentId(containerId, ifname)) ||
          this.opts.attachments.get(containerId, ifname)
        )
          continue;
        if (this.mutex.busy(containerId)) continue;
        await this.opts.ipam
          .release(containerId, ifname)
          .catch((err: unknown) => failures.push(`${r.ip}: ${String(err)}`));
      }
      if (failures.length > 0)
        throw new CniFailure(CniCode.TryAgainLater, `GC left ${failures.length} attachment(s)`, {
          details: failures.join('; '),
        });
      return {};
    });
  }

  private async doAdd(id: Identity, req: CniRequest__Output): Promise<CniReply> {
    const { attachments, ipam, scheduler } = this.opts;
    const previous = attachments.get(id.containerId, id.ifname);
    if (previous && previous.netns !== id.netns) {
      throw new CniFailure(
        CniCode.AlreadyAttached,
        `${id.containerId}/${id.ifname} is already attached in ${previous.netns}`,
      );
    }
    const alloc = await ipam
      .allocate({ namespace: id.namespace, pod: id.pod, containerId: id.containerId, ifname: id.ifname })
      .catch((err: unknown) => {
        const retriable = (err as { retriable?: boolean }).retriable === true;
        throw new CniFailure(
          retriable ? CniCode.TryAgainLater : CniCode.IoFailure,
          `IPAM: ${String((err as Error).message ?? err)}`,
          { cause: err },
        );
      });
    const a: Attachment = {
      containerId: id.containerId,
      ifname: id.ifname,
      namespace: id.namespace,
      pod: id.pod,
      netns: id.netns,
      ip: alloc.ip,
      network: '',
    };
    await attachments.add(a);
    const key = podKeyOf(a);
    try {
      const items = this.opts.render(a);
      await this.commitOwned(key, a, items, `cni add ${a.containerId}`);
      // The interface first: items that depend on a failed one stay pending and never settle.
      const signal = AbortSignal.timeout(this.opts.addTimeoutMs ?? 30_000);
      for (const keys of [[key], items.slice(1).map((i) => i.key)]) {
        const bad = (await scheduler.waitSettled(keys, signal)).filter((st) => st.state !== 'configured');
        if (bad.length > 0) {
          const why = bad
            .map((st) => `${st.key}: ${st.state}${st.error ? ` (${st.error.message})` : ''}`)
            .join('; ');
          throw new CniFailure(CniCode.DataPlaneFailed, 'the data plane did not wire the pod', {
            details: why,
          });
        }
      }
    } catch (err) {
      await this.detach(a.containerId, a.ifname).catch((e: unknown) =>
        this.opts.logger.warn({ err: e, containerId: a.containerId }, 'rollback of a failed ADD incomplete'),
      );
      if (err instanceof Error && err.name === 'TimeoutError') {
        throw new CniFailure(
          CniCode.TryAgainLater,
          `pod not wired within ${this.opts.addTimeoutMs ?? 30_000} ms`,
          { cause: err },
        );
      }
      throw err;
    }
    const info = scheduler.appliedItems().find((i) => i.key === key)?.metadata as
      PodInterfaceInfo | undefined;
    return {
      result: cniResult(this.opts.render(a)[0]!.value as PodInterface, info ?? {}, dnsOf(req.networkConfig)),
    };
  }

  /** Commits `a`'s items as the pod interface's owner, removing routes the previous owner had. */
  private async commitOwned(key: string, a: Attachment, items: Item[], description: string): Promise<void> {
    const changes: { key: string; value: unknown }[] = items.map((i) => ({ key: i.key, value: i.value }));
    const prevOwner = this.owner.get(key);
    const prev =
      prevOwner !== undefined && prevOwner !== a.containerId
        ? this.opts.attachments.get(prevOwner, a.ifname)
        : undefined;
    const keep = new Set(items.map((i) => i.key));
    if (prev)
      for (const i of this.opts.render(prev))
        if (!keep.has(i.key)) changes.push({ key: i.key, value: undefined });
    this.owner.set(key, a.containerId);
    await this.opts.scheduler.commit(changes, description);
  }

  /**
   * Removes an attachment: its items (when it owns them; another attachment of the same pod
   * takes over), its record and its addresses. Throws 11 when the data plane still holds them.
   */
  private async detach(containerId: string, ifname: string): Promise<void> {
    const { attachments, ipam, scheduler } = this.opts;
    const a = attachments.get(containerId, ifname);
    if (a) {
      const key = podKeyOf(a);
      if (this.owner.get(key) === containerId) {
        const heir = attachments
          .all()
          .filter((o) => podKeyOf(o) === key && o.containerId !== containerId)
          .pop();
        const kept = new Set(heir ? this.opts.render(heir).map((i) => i.key) : []);
        const gone = this.opts.render(a).filter((i) => !kept.has(i.key));
        if (heir) {
          await this.commitOwned(
            key,
            heir,
            this.opts.render(heir),
            `cni del ${containerId} (pod kept by ${heir.containerId})`,
          );
        } else {
          this.owner.delete(key);
          await scheduler.commit(
            gone.map((i) => ({ key: i.key, value: undefined })),
            `cni del ${containerId}`,
          );
        }
        const left = gone.filter((i) => scheduler.status(i.key)?.applied === true).map((i) => i.key);
        if (left.length > 0)
          throw new CniFailure(CniCode.TryAgainLater, 'the data plane still holds the pod', {
            details: left.join(', '),
          });
      }
      await attachments.remove(containerId, ifname);
    }
    await ipam.release(containerId, ifname).catch((err: unknown) => {
      throw new CniFailure(CniCode.TryAgainLater, `IPAM release: ${String((err as Error).message ?? err)}`, {
        cause: err,
      });
    });
  }

  private doCheck(id: Identity, networkConfig: string): void {
    const a = this.opts.attachments.get(id.containerId, id.ifname);
    if (!a)
      throw new CniFailure(CniCode.UnknownContainer, `no attachment for ${id.containerId}/${id.ifname}`);
    const problems: string[] = [];
    if (a.netns !== id.netns) problems.push(`netns is ${a.netns}, runtime says ${id.netns}`);
    const key = podKeyOf(a);
    if (this.owner.get(key) !== a.containerId)
      problems.push(`pod interface owned by ${this.owner.get(key) ?? 'nobody'}`);
    for (const i of this.opts.render(a)) {
      const st = this.opts.scheduler.status(i.key);
      if (st?.state !== 'configured') problems.push(`${i.key}: ${st?.state ?? 'unknown'}`);
    }
    const held = new Set(
      this.opts.ipam
        .records()
        .filter((r) => r.entry.containerId === a.containerId && r.entry.ifname === a.ifname)
        .map((r) => r.ip),
    );
    if (!held.has(a.ip)) problems.push(`IPAM holds no record of ${a.ip}`);
    const prev = prevResultIps(networkConfig);
    if (prev && !prev.includes(a.ip))
      problems.push(`prevResult lists ${prev.join(',')}, attachment has ${a.ip}`);
    if (problems.length > 0)
      throw new CniFailure(CniCode.IoFailure, 'pod network differs from what was set up', {
        details: problems.join('; '),
      });
  }

  /** Runs one operation: its reply, a metric, and one log line for a failure. */
  private async answer(op: Op, containerId: string, work: () => Promise<CniReply>): Promise<CniReply> {
    const t0 = performance.now();
    let reply: CniReply;
    try {
      reply = await work();
    } catch (err) {
      const f = CniFailure.from(err);
      const log =
        f.code === CniCode.Internal
          ? this.opts.logger.error.bind(this.opts.logger)
          : this.opts.logger.warn.bind(this.opts.logger);
      log(
        {
          op,
          containerId,
          code: f.code,
          details: f.details,
          err: f.code === CniCode.Internal ? err : undefined,
        },
        `CNI ${op} failed: ${f.message}`,
      );
      reply = { error: { code: f.code, msg: f.message, details: f.details } };
    }
    this.metrics.observe(op, reply.error?.code ?? 0, (performance.now() - t0) / 1000);
    return reply;
  }
}
