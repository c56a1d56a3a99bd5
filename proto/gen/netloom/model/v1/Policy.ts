// Original file: model.proto

import type { LabelSelector as _netloom_model_v1_LabelSelector, LabelSelector__Output as _netloom_model_v1_LabelSelector__Output } from '../../../netloom/model/v1/LabelSelector';
import type { PolicyRule as _netloom_model_v1_PolicyRule, PolicyRule__Output as _netloom_model_v1_PolicyRule__Output } from '../../../netloom/model/v1/PolicyRule';

export interface Policy {
  'namespace'?: (string);
  'name'?: (string);
  'podSelector'?: (_netloom_model_v1_LabelSelector | null);
  'policyTypes'?: (string)[];
  'ingress'?: (_netloom_model_v1_PolicyRule)[];
  'egress'?: (_netloom_model_v1_PolicyRule)[];
}

export interface Policy__Output {
  'namespace': (string);
  'name': (string);
  'podSelector': (_netloom_model_v1_LabelSelector__Output | null);
  'policyTypes': (string)[];
  'ingress': (_netloom_model_v1_PolicyRule__Output)[];
  'egress': (_netloom_model_v1_PolicyRule__Output)[];
}
