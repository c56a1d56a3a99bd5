// Original file: model.proto

import type { PolicyPort as _netloom_model_v1_PolicyPort, PolicyPort__Output as _netloom_model_v1_PolicyPort__Output } from '../../../netloom/model/v1/PolicyPort';
import type { PolicyPeer as _netloom_model_v1_PolicyPeer, PolicyPeer__Output as _netloom_model_v1_PolicyPeer__Output } from '../../../netloom/model/v1/PolicyPeer';

export interface PolicyRule {
  'ports'?: (_netloom_model_v1_PolicyPort)[];
  'peers'?: (_netloom_model_v1_PolicyPeer)[];
}

export interface PolicyRule__Output {
  'ports': (_netloom_model_v1_PolicyPort__Output)[];
  'peers': (_netloom_model_v1_PolicyPeer__Output)[];
}
