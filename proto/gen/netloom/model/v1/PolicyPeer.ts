// Original file: model.proto

import type { LabelSelector as _netloom_model_v1_LabelSelector, LabelSelector__Output as _netloom_model_v1_LabelSelector__Output } from '../../../netloom/model/v1/LabelSelector';
import type { IpBlock as _netloom_model_v1_IpBlock, IpBlock__Output as _netloom_model_v1_IpBlock__Output } from '../../../netloom/model/v1/IpBlock';

export interface PolicyPeer {
  'podSelector'?: (_netloom_model_v1_LabelSelector | null);
  'namespaceSelector'?: (_netloom_model_v1_LabelSelector | null);
  'ipBlock'?: (_netloom_model_v1_IpBlock | null);
}

export interface PolicyPeer__Output {
  'podSelector': (_netloom_model_v1_LabelSelector__Output | null);
  'namespaceSelector': (_netloom_model_v1_LabelSelector__Output | null);
  'ipBlock': (_netloom_model_v1_IpBlock__Output | null);
}
