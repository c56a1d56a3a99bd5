// The CNI operations of the agent, independent of gRPC. ADD allocates the pod's address (IPAM
// persists it in etcd before answering), records the attachment in the node's attachment
// store, hands it to the pipeline (which renders and commits the pod's items: the only writer
// to the scheduler) and answers only once those items are applied. DEL is idempotent and
// succeeds when nothing is left. All operations on one container ID are serialised; GC tears
// down what the runtime no longer lists. Every operation answers a CniReply and never throws.
import type { Logger } from '../../lib/logging.ts';
import type { Registry } from '../../lib/metrics.ts';
import { CniCode, CniError } from '../../cni/errors.ts';
import type { CniReply } from '../../proto/gen/netloom/cni/v1/CniReply.ts';
import type { CniRequest__Output } from '../../proto/gen/netloom/cni/v1/CniRequest.ts';
import type { GcRequest__Output } from '../../proto/gen/netloom/cni/v1/GcRequest.ts';
import { existsSync } from 'node:fs';
import type { Attachment } from '../attachments/attachment.ts';
import type { Allocation, AllocationRequest } from '../ipam/allocator.ts';
import { AddressTakenError, ForeignAddressError } from '../ipam/errors.ts';
import type { RuntimeRequest } from '../multinet/delegate.ts';
import type { PodInterface } from '../items/values.ts';
import { KeyedMutex } from './keyed-mutex.ts';
import { cniMetrics, type AddPhase, type CniMetrics } from './metrics.ts';
import { dnsOf, prevResultIps, validAttachmentsOf } from './netconf.ts';
import { identify, type Identity } from './request.ts';
import type { NetnsCheck } from './netns-path.ts';
import { cniResult, isWired } from './result.ts';
import { DEFAULT_ONLY, type ExtraPlan } from './pod-networks.ts';
import type {
  AttachmentsPort,
  DelegateCall,
  IpamPort,
  ItemsPort,
  NetworksPort,
  PodsPort,
  Readiness,
} from './ports.ts';

export interface CniServiceOptions {
  ipam: IpamPort;
  attachments: AttachmentsPort;
  pods: PodsPort;
  items: ItemsPort;
  /** Whether the node can wire pods now (node ID claimed, first resync done, node items applied). */
  ready: () => Readiness;
  logger: Logger;
  registry?: Registry;
  /** How long ADD waits for the pod's items to be applied. */
  addTimeoutMs?: number;
  /** How CNI_NETNS paths are judged (request.ts's lenient default when absent). */
  netnsCheck?: NetnsCheck;
  /** Custom networks and extra interfaces; absent: every pod gets the default network only. */
  networks?: NetworksPort;
}

type Op = 'add' | 'del' | 'check' | 'status' | 'gc';

/** What every extra interface's attachment records, native or delegated. */
function extraAttachment(
  id: Identity,
  sel: ExtraPlan['selection'],
  index: number,
): Omit<Attachment, 'ip' | 'network'> {
  return {
    containerId: id.containerId,
    ifname: sel.interface,
    namespace: id.namespace,
    pod: id.pod,
    netns: id.netns,
    extra: true,
    index,
    ...(sel.defaultRoute.length > 0 ? { defaultRoute: sel.defaultRoute } : {}),
    ...(id.podUid !== '' ? { podUid: id.podUid } : {}),
  };
}

/** A selection as the runtime request of a delegated plugin. */
function runtimeRequest(sel: ExtraPlan['selection']): RuntimeRequest {
  return {
    ...(sel.ips.length > 0 ? { ips: sel.ips } : {}),
    ...(sel.mac !== '' ? { mac: sel.mac } : {}),
    ...(Object.keys(sel.cniArgs).length > 0 ? { cniArgs: sel.cniArgs } : {}),
    ...(sel.portMappings.length > 0 ? { portMappings: sel.portMappings } : {}),
    ...(sel.bandwidth !== undefined ? { bandwidth: sel.bandwidth } : {}),
    ...(sel.infinibandGuid !== undefined ? { infinibandGuid: sel.infinibandGuid } : {}),
  };
}

/** An IPAM failure as the CNI error a runtime acts on (11 to retry, 5 otherwise). */
function ipamError(err: unknown): never {
  const retriable = (err as { retriable?: boolean }).retriable === true;
  throw new CniError(
    retriable ? CniCode.TryAgainLater : CniCode.IoFailure,
    `IPAM: ${String((err as Error).message ?? err)}`,
    { cause: err },
  );
}

const attachmentId = (containerId: string, ifname: string): string => `${containerId}/${ifname}`;

export class CniService {
  private readonly opts: CniServiceOptions;
  private readonly mutex = new KeyedMutex();
  private readonly metrics: CniMetrics;

  constructor(opts: CniServiceOptions) {
    this.opts = opts;
    this.metrics = cniMetrics(opts.registry);
  }

  add(req: CniRequest__Output): Promise<CniReply> {
    return this.answer('add', req.containerId, async () => {
      const id = identify(req, { needNetns: true, ...this.netns });
      const readiness = this.opts.ready();
      if (!readiness.ready)
        throw new CniError(
          CniCode.TryAgainLater,
          `netloom agent not ready: ${readiness.reason ?? 'starting'}`,
        );
      return this.mutex.run(id.containerId, () => this.doAdd(id, req));
    });
  }

  del(req: CniRequest__Output): Promise<CniReply> {
    return this.answer('del', req.containerId, async () => {
      const id = identify(req, { needNetns: false, ...this.netns });
      await this.mutex.run(id.containerId, () => this.detachContainer(id.containerId, id.ifname));
      return {};
    });
  }

  check(req: CniRequest__Output): Promise<CniReply> {
    return this.answer('check', req.containerId, async () => {
      const id = identify(req, { needNetns: true, ...this.netns });
      await this.mutex.run(id.containerId, () => this.doCheck(id, req.networkConfig));
      return {};
    });
  }

  status(): Promise<CniReply> {
    return this.answer('status', '', () => {
      const r = this.opts.ready();
      if (!r.ready)
        return Promise.reject(
          new CniError(CniCode.NotAvailable, `netloom agent not ready: ${r.reason ?? 'starting'}`),
        );
      return Promise.resolve({});
    });
  }

  gc(req: GcRequest__Output): Promise<CniReply> {
    return this.answer('gc', '', async () => {
      const listed = [...req.validAttachments, ...validAttachmentsOf(req.networkConfig)];
      const valid = new Set(listed.map((v) => attachmentId(v.containerId, v.ifname)));
      // Extra interfaces belong to the container's attachment of this network: valid with it.
      const validContainers = new Set(listed.map((v) => v.containerId));
      const failures: string[] = [];
      for (const a of this.opts.attachments.all()) {
        if (a.extra === true && validContainers.has(a.containerId)) continue;
        if (valid.has(attachmentId(a.containerId, a.ifname)) || this.mutex.busy(a.containerId)) continue;
        await this.mutex
          .run(a.containerId, () => this.detach(a.containerId, a.ifname))
          .catch((err: unknown) => failures.push(`${a.containerId}: ${String(err)}`));
      }
      // Addresses allocated by an ADD that never recorded its attachment (agent died in between).
      for (const r of this.opts.ipam.records()) {
        const { containerId, ifname } = r.entry;
        if (
          validContainers.has(containerId) ||
          valid.has(attachmentId(containerId, ifname)) ||
          this.opts.attachments.get(containerId, ifname)
        )
          continue;
        if (this.mutex.busy(containerId)) continue;
        await this.opts.ipam
          .release(containerId, ifname)
          .catch((err: unknown) => failures.push(`${r.ip}: ${String(err)}`));
      }
      this.opts.networks?.changed();
      if (failures.length > 0)
        throw new CniError(CniCode.TryAgainLater, `GC left ${failures.length} attachment(s)`, {
          details: failures.join('; '),
        });
      return {};
    });
  }

  private async doAdd(id: Identity, req: CniRequest__Output): Promise<CniReply> {
    const { attachments, ipam, items } = this.opts;
    // The spec: an interface that already exists in the container MUST be an error; a runtime
    // that retries an ADD calls DEL first. Nothing of the existing attachment is touched.
    const previous = attachments.get(id.containerId, id.ifname);
    if (previous) {
      throw new CniError(
        CniCode.AlreadyAttached,
        previous.netns === id.netns
          ? `interface ${id.ifname} of container ${id.containerId} already exists (ADD without DEL)`
          : `${id.containerId}/${id.ifname} is already attached in ${previous.netns}`,
      );
    }
    const phases = this.phaseClock();
    const nets = this.opts.networks ? await this.opts.networks.plan(id) : DEFAULT_ONLY;
    const request: AllocationRequest = {
      namespace: id.namespace,
      pod: id.pod,
      containerId: id.containerId,
      ifname: id.ifname,
      netns: id.netns,
      network: nets.primary,
    };
    // The address is picked at once and its create-only write runs while the data plane wires
    // the pod; the ADD answers only once both are done (ADR 0007).
    const reserved = ipam.reserve?.(request);
    const attachment = (ip: string): Attachment => ({
      containerId: id.containerId,
      ifname: id.ifname,
      namespace: id.namespace,
      pod: id.pod,
      netns: id.netns,
      ip,
      network: nets.primary,
      ...(id.podUid !== '' ? { podUid: id.podUid } : {}),
      ...(nets.defaultRouteElsewhere ? { defaultRoute: [] } : {}),
    });
    let a = attachment(reserved?.ip ?? (await ipam.allocate(request).catch(ipamError)).ip);
    phases.lap('ipam');
    await attachments.add(a);
    phases.lap('record');
    let iface: { key: string; value: PodInterface };
    try {
      let wiring = this.wire(a);
      if (reserved) {
        const [alloc, wired] = await Promise.allSettled([reserved.persisted, wiring]);
        if (alloc.status === 'rejected') ipamError(alloc.reason);
        if (alloc.value.ip !== a.ip) {
          // Another allocator held the address picked: wire the one IPAM gave (the pipeline
          // replaces the interface), and answer with that.
          a = attachment(alloc.value.ip);
          await attachments.add(a);
          wiring = this.wire(a);
        } else if (wired.status === 'rejected') {
          throw wired.reason as Error;
        }
      }
      iface = await wiring;
    } catch (err) {
      await this.detach(a.containerId, a.ifname).catch((e: unknown) =>
        this.opts.logger.warn({ err: e, containerId: a.containerId }, 'rollback of a failed ADD incomplete'),
      );
      if (err instanceof Error && err.name === 'TimeoutError') {
        throw new CniError(CniCode.TryAgainLater, `pod not wired within ${this.addTimeoutMs} ms`, {
          cause: err,
        });
      }
      throw err;
    }
    phases.lap('commit');
    const wired = items.applied(iface.key)?.metadata;
    if (!isWired(wired))
      throw new CniError(CniCode.Internal, `the data plane reported no interface details for ${iface.key}`);
    const result = cniResult(iface.value, wired, dnsOf(req.networkConfig));
    if (nets.extras.length > 0) {
      // The spec: the default network first, then each extra in order; any failure fails the pod,
      // and nothing of it stays.
      try {
        for (const [i, x] of nets.extras.entries()) await this.attachExtra(id, x, i + 1);
      } catch (err) {
        await this.detachContainer(id.containerId, id.ifname).catch((e: unknown) =>
          this.opts.logger.warn(
            { err: e, containerId: id.containerId },
            'rollback of a failed ADD incomplete',
          ),
        );
        throw err;
      }
    }
    this.opts.networks?.changed();
    phases.lap('answer');
    phases.book();
    return { result };
  }

  /** Attaches one extra interface: natively in a netloom network, or through another plugin. */
  private async attachExtra(id: Identity, x: ExtraPlan, index: number): Promise<void> {
    const { attachments, ipam } = this.opts;
    const sel = x.selection;
    if (x.kind === 'native') {
      const req: AllocationRequest = {
        namespace: id.namespace,
        pod: id.pod,
        containerId: id.containerId,
        ifname: sel.interface,
        netns: id.netns,
        network: x.network.name,
        extra: true,
        ...(sel.mac !== '' ? { mac: sel.mac } : {}),
      };
      let alloc: Allocation;
      if (x.ip !== undefined) {
        if (!ipam.allocateExact)
          throw new CniError(CniCode.UnsupportedField, 'requested addresses are not supported here');
        alloc = await ipam.allocateExact(req, x.ip).catch((err: unknown) => {
          if (err instanceof AddressTakenError || err instanceof ForeignAddressError)
            throw new CniError(
              CniCode.InvalidConfig,
              `${sel.namespace}/${sel.name}@${sel.interface}: ${err.message}`,
              {
                cause: err,
              },
            );
          return ipamError(err);
        });
      } else {
        alloc = await ipam.allocate(req).catch(ipamError);
      }
      const a: Attachment = {
        ...extraAttachment(id, sel, index),
        ip: alloc.ip,
        network: x.network.name,
        ...(sel.mac !== '' ? { mac: sel.mac } : {}),
      };
      await attachments.add(a);
      const iface = await this.wire(a);
      const wired = this.opts.items.applied(iface.key)?.metadata;
      if (sel.mac !== '' && (!isWired(wired) || wired.mac.toLowerCase() !== sel.mac.toLowerCase()))
        throw new CniError(
          CniCode.DataPlaneFailed,
          `${sel.interface}: the requested MAC ${sel.mac} was not set`,
        );
      return;
    }
    const networks = this.opts.networks!;
    const call: DelegateCall = {
      config: x.nad.config,
      network: { namespace: x.nad.namespace, name: x.nad.name },
      selection: runtimeRequest(sel),
      pod: { namespace: id.namespace, name: id.pod, uid: id.podUid },
      containerId: id.containerId,
      netns: id.netns,
      ifname: sel.interface,
    };
    const res = await networks.delegateAdd(call);
    const gateway = sel.defaultRoute[0];
    if (gateway !== undefined) {
      // The spec's default-route: the pod's default route through this interface (the primary
      // was wired without one).
      await networks.setDefaultRoute(id.netns, sel.interface, gateway).catch(async (err: unknown) => {
        await networks.delegateDel({ ...call, prevResult: res.result }).catch(() => undefined);
        throw new CniError(
          CniCode.DataPlaneFailed,
          `${sel.namespace}/${sel.name}@${sel.interface}: default route via ${gateway} not set: ${(err as Error).message}`,
          { cause: err },
        );
      });
    }
    const a: Attachment = {
      ...extraAttachment(id, sel, index),
      ip: '',
      network: '',
      delegated: {
        attachmentDefinition: `${x.nad.namespace}/${x.nad.name}`,
        config: x.nad.config,
        result: res.result,
        selection: JSON.stringify(call.selection),
        ips: res.attachment.ips,
        mac: res.attachment.mac,
      },
    };
    try {
      await attachments.add(a);
    } catch (err) {
      await networks.delegateDel({ ...call, prevResult: res.result }).catch(() => undefined);
      throw err;
    }
  }

  /** Hands the attachment to the pipeline and waits until its items are applied; no rollback. */
  private async wire(a: Attachment): Promise<{ key: string; value: PodInterface }> {
    const commit = await this.opts.pods.attachPod(a, `cni add ${a.containerId}`);
    const iface = commit.items[0] as { key: string; value: PodInterface };
    // The interface first: items that depend on a failed one stay pending and never settle.
    const signal = AbortSignal.timeout(this.addTimeoutMs);
    for (const keys of [[iface.key], commit.items.slice(1).map((i) => i.key)]) {
      const bad = (await this.opts.items.waitSettled(keys, signal)).filter((st) => st.state !== 'configured');
      if (bad.length > 0) {
        const why = bad
          .map((st) => `${st.key}: ${st.state}${st.error ? ` (${st.error.message})` : ''}`)
          .join('; ');
        throw new CniError(CniCode.DataPlaneFailed, 'the data plane did not wire the pod', { details: why });
      }
    }
    return iface;
  }

  /** Times the phases of one ADD; booked only when it succeeds (failures have their own count). */
  private phaseClock(): { lap(phase: AddPhase): void; book(): void } {
    const laps: [AddPhase, number][] = [];
    let last = performance.now();
    return {
      lap: (phase) => {
        const now = performance.now();
        laps.push([phase, (now - last) / 1000]);
        last = now;
      },
      book: () => laps.forEach(([phase, s]) => this.metrics.phase(phase, s)),
    };
  }

  private get netns(): { netns?: NetnsCheck } {
    return this.opts.netnsCheck ? { netns: this.opts.netnsCheck } : {};
  }

  private get addTimeoutMs(): number {
    return this.opts.addTimeoutMs ?? 30_000;
  }

  /**
   * Removes an attachment: its items (the pipeline hands the pod interface to another
   * attachment of the same pod when there is one), its record and its addresses. Throws 11 when
   * the data plane still holds them: the record and the addresses stay, so a retry finds them.
   */
  private async detach(containerId: string, ifname: string): Promise<void> {
    const { attachments, ipam, pods, items } = this.opts;
    const a = attachments.get(containerId, ifname);
    if (a?.delegated !== undefined) {
      const d = a.delegated;
      const [namespace = '', name = ''] = d.attachmentDefinition.split('/');
      if (!this.opts.networks)
        throw new CniError(
          CniCode.Internal,
          `${containerId}/${ifname} was made by another plugin, and delegation is off`,
        );
      await this.opts.networks.delegateDel({
        config: d.config,
        network: { namespace, name },
        selection: JSON.parse(d.selection) as RuntimeRequest,
        pod: { namespace: a.namespace, name: a.pod, uid: '' },
        containerId,
        // A namespace already gone: the plugins release what they hold without entering it.
        netns: existsSync(a.netns) ? a.netns : '',
        ifname,
        prevResult: d.result,
      });
      await attachments.remove(containerId, ifname);
      return;
    }
    if (a) {
      const { gone } = await pods.detachPod(a, `cni del ${containerId}`);
      const left = gone.filter((k) => items.status(k)?.applied === true);
      if (left.length > 0)
        throw new CniError(CniCode.TryAgainLater, 'the data plane still holds the pod', {
          details: left.join(', '),
        });
      await attachments.remove(containerId, ifname);
    }
    await ipam.release(containerId, ifname, a?.network).catch((err: unknown) => {
      throw new CniError(CniCode.TryAgainLater, `IPAM release: ${String((err as Error).message ?? err)}`, {
        cause: err,
      });
    });
  }

  /**
   * DEL of a container's interface and, for the primary one, of the extra interfaces made with it
   * (last first): everything is tried; the first failure is reported after.
   */
  private async detachContainer(containerId: string, ifname: string): Promise<void> {
    const extras = this.opts.attachments
      .all()
      .filter((a) => a.containerId === containerId && a.extra === true && a.ifname !== ifname)
      .reverse();
    let failure: Error | undefined;
    const keep = (err: unknown): void => {
      failure ??= err instanceof Error ? err : new Error(String(err));
    };
    for (const x of extras) await this.detach(containerId, x.ifname).catch(keep);
    await this.detach(containerId, ifname).catch(keep);
    this.opts.networks?.changed();
    if (failure !== undefined) throw failure;
  }

  private async doCheck(id: Identity, networkConfig: string): Promise<void> {
    this.checkNative(id, networkConfig);
    for (const x of this.opts.attachments.all()) {
      if (x.containerId !== id.containerId || x.extra !== true) continue;
      if (x.delegated === undefined) {
        this.checkNative({ ...id, ifname: x.ifname }, '');
        continue;
      }
      const d = x.delegated;
      const [namespace = '', name = ''] = d.attachmentDefinition.split('/');
      await this.opts.networks?.delegateCheck({
        config: d.config,
        network: { namespace, name },
        selection: JSON.parse(d.selection) as RuntimeRequest,
        pod: { namespace: x.namespace, name: x.pod, uid: id.podUid },
        containerId: x.containerId,
        netns: id.netns,
        ifname: x.ifname,
        prevResult: d.result,
      });
    }
  }

  private checkNative(id: Identity, networkConfig: string): void {
    const a = this.opts.attachments.get(id.containerId, id.ifname);
    if (!a) throw new CniError(CniCode.UnknownContainer, `no attachment for ${id.containerId}/${id.ifname}`);
    const problems: string[] = [];
    if (a.netns !== id.netns) problems.push(`netns is ${a.netns}, runtime says ${id.netns}`);
    const owner = this.opts.pods.ownerOf(a);
    if (owner?.containerId !== a.containerId)
      problems.push(`pod interface owned by ${owner?.containerId ?? 'nobody'}`);
    for (const i of this.opts.pods.itemsOf(a)) {
      const st = this.opts.items.status(i.key);
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
      throw new CniError(CniCode.IoFailure, 'pod network differs from what was set up', {
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
      const f = CniError.from(err);
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
