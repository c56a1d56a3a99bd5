// Original file: cni.proto

import type { CniResult as _netloom_cni_v1_CniResult, CniResult__Output as _netloom_cni_v1_CniResult__Output } from '../../../netloom/cni/v1/CniResult';
import type { CniError as _netloom_cni_v1_CniError, CniError__Output as _netloom_cni_v1_CniError__Output } from '../../../netloom/cni/v1/CniError';

export interface CniReply {
  'result'?: (_netloom_cni_v1_CniResult | null);
  'error'?: (_netloom_cni_v1_CniError | null);
}

export interface CniReply__Output {
  'result': (_netloom_cni_v1_CniResult__Output | null);
  'error': (_netloom_cni_v1_CniError__Output | null);
}
