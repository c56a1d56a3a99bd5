// Original file: model.proto

import type { PortRef as _netloom_model_v1_PortRef, PortRef__Output as _netloom_model_v1_PortRef__Output } from '../../../netloom/model/v1/PortRef';

export interface PolicyPort {
  'protocol'?: (string);
  'port'?: (_netloom_model_v1_PortRef | null);
  'endPort'?: (number);
}

export interface PolicyPort__Output {
  'protocol': (string);
  'port': (_netloom_model_v1_PortRef__Output | null);
  'endPort': (number);
}
