// A PodSource over the attachment store: renders every recorded attachment. The agent uses it
// until the CNI server (agent/cni-server) is wired in as the pod source.
import type { Item } from '../scheduler/descriptor.ts';
import type { NodeContext } from '../renderers/context.ts';
import { renderPodAttachment } from '../renderers/pods.ts';
import type { PodSource } from '../pipeline/pipeline.ts';
import type { AttachmentStore } from './store.ts';

export function localPods(store: AttachmentStore, ctx: NodeContext): PodSource {
  return { items: (): Item[] => store.all().flatMap((a) => renderPodAttachment(ctx, a)) };
}
