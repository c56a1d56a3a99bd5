// Original file: model.proto

import type { PortRef as _netloom_model_v1_PortRef, PortRef__Output as _netloom_model_v1_PortRef__Output } from '../../../netloom/model/v1/PortRef';

export interface ServicePort {
  'name'?: (string);
  'protocol'?: (string);
  'port'?: (number);
  'targetPort'?: (_netloom_model_v1_PortRef | null);
  'nodePort'?: (number);
  'appProtocol'?: (string);
}

export interface ServicePort__Output {
  'name': (string);
  'protocol': (string);
  'port': (number);
  'targetPort': (_netloom_model_v1_PortRef__Output | null);
  'nodePort': (number);
  'appProtocol': (string);
}
