// The shim's whole decision (pure but for the agent port): environment and stdin in, stdout
// and exit code out. main.ts adds only the process: reading stdin, the deadline, printing.
import type { CniReply__Output } from '../proto/gen/netloom/cni/v1/CniReply.ts';
import type { CniRequest } from '../proto/gen/netloom/cni/v1/CniRequest.ts';
import type { GcRequest } from '../proto/gen/netloom/cni/v1/GcRequest.ts';
import type { StatusRequest } from '../proto/gen/netloom/cni/v1/StatusRequest.ts';
import { CniCode, CniError } from './errors.ts';
import { parseEnv, type CniEnv } from './env.ts';
import { parseNetConf, sniffVersion, type NetConf } from './netconf.ts';
import { LATEST_VERSION, checkVersion, formatResult, versionResult } from './versions.ts';

/** The calls the shim makes to its agent (a gRPC client in production, fakes in tests). */
export interface AgentPort {
  add(req: CniRequest): Promise<CniReply__Output>;
  del(req: CniRequest): Promise<CniReply__Output>;
  check(req: CniRequest): Promise<CniReply__Output>;
  status(req: StatusRequest): Promise<CniReply__Output>;
  gc(req: GcRequest): Promise<CniReply__Output>;
  close(): void;
}

export type ConnectAgent = (conf: NetConf) => Promise<AgentPort>;

export interface ShimOutput {
  stdout: string;
  exitCode: number;
  /** What went wrong, for the log (never stdout). */
  error?: CniError;
}

const NEEDS_1_1 = new Set(['STATUS', 'GC']);

function ok(body?: unknown): ShimOutput {
  return { stdout: body === undefined ? '' : JSON.stringify(body) + '\n', exitCode: 0 };
}

function fail(err: CniError, version: string): ShimOutput {
  return { stdout: JSON.stringify(err.toResult(version)) + '\n', exitCode: 1, error: err };
}

function request(env: CniEnv, conf: NetConf): CniRequest {
  return {
    containerId: env.containerId,
    netns: env.netns,
    ifname: env.ifname,
    cniArgs: env.args,
    podNamespace: env.argMap['K8S_POD_NAMESPACE'] ?? '',
    podName: env.argMap['K8S_POD_NAME'] ?? '',
    podUid: env.argMap['K8S_POD_UID'] ?? '',
    infraContainerId: env.argMap['K8S_POD_INFRA_CONTAINER_ID'] ?? '',
    cniVersion: conf.cniVersion,
    networkConfig: conf.raw,
  };
}

async function call(env: CniEnv, conf: NetConf, agent: AgentPort): Promise<CniReply__Output> {
  switch (env.command) {
    case 'ADD':
      return agent.add(request(env, conf));
    case 'DEL':
      return agent.del(request(env, conf));
    case 'CHECK':
      return agent.check(request(env, conf));
    case 'STATUS':
      return agent.status({ cniVersion: conf.cniVersion, networkConfig: conf.raw });
    case 'GC':
      return agent.gc({
        cniVersion: conf.cniVersion,
        networkConfig: conf.raw,
        validAttachments: conf.validAttachments ?? [],
      });
    case 'VERSION':
      throw new CniError(CniCode.Internal, 'VERSION is answered without the agent');
  }
}

/** Maps a transport failure: the agent is down or slow, which the runtime should retry. */
function unreachable(env: CniEnv, err: unknown): CniError {
  const detail = err instanceof Error ? err.message : String(err);
  if (env.command === 'STATUS')
    return new CniError(CniCode.NotAvailable, 'netloom agent is not reachable', {
      details: detail,
      cause: err,
    });
  return new CniError(CniCode.TryAgainLater, 'netloom agent is not reachable', {
    details: detail,
    cause: err,
  });
}

export async function runShim(
  envVars: Readonly<Record<string, string | undefined>>,
  stdin: string,
  connect: ConnectAgent,
): Promise<ShimOutput> {
  const sniffed = sniffVersion(stdin);
  const version = sniffed ?? LATEST_VERSION;
  let env: CniEnv;
  try {
    env = parseEnv(envVars);
  } catch (err) {
    return fail(
      err instanceof CniError ? err : new CniError(CniCode.InvalidEnvironment, String(err)),
      version,
    );
  }
  if (env.command === 'VERSION') return ok(versionResult(sniffed));

  let conf: NetConf;
  try {
    conf = parseNetConf(stdin, { requireName: true });
    checkVersion(conf.cniVersion);
    if (NEEDS_1_1.has(env.command) && conf.cniVersion !== '1.1.0') {
      throw new CniError(
        CniCode.IncompatibleVersion,
        `${env.command} needs cniVersion 1.1.0, got ${conf.cniVersion}`,
      );
    }
    if (env.command === 'CHECK' && conf.cniVersion.startsWith('0.3')) {
      throw new CniError(
        CniCode.IncompatibleVersion,
        `CHECK needs cniVersion 0.4.0 or later, got ${conf.cniVersion}`,
      );
    }
    if (env.command === 'ADD' && conf.prevResult !== undefined) {
      throw new CniError(
        CniCode.InvalidConfig,
        'netloom must be the first plugin of the chain (ADD got a prevResult)',
      );
    }
  } catch (err) {
    return fail(err instanceof CniError ? err : new CniError(CniCode.InvalidConfig, String(err)), version);
  }

  let agent: AgentPort | undefined;
  let reply: CniReply__Output;
  try {
    agent = await connect(conf);
    reply = await call(env, conf, agent);
  } catch (err) {
    return fail(err instanceof CniError ? err : unreachable(env, err), conf.cniVersion);
  } finally {
    agent?.close();
  }
  if (reply.error && reply.error.code !== 0) {
    return fail(
      new CniError(reply.error.code, reply.error.msg, { details: reply.error.details }),
      conf.cniVersion,
    );
  }
  if (env.command !== 'ADD') return ok();
  if (!reply.result)
    return fail(new CniError(CniCode.Internal, 'agent answered ADD without a result'), conf.cniVersion);
  return ok(formatResult(reply.result, conf.cniVersion));
}
