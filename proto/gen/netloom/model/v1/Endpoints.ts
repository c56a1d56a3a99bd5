// Original file: model.proto

import type { EndpointSubset as _netloom_model_v1_EndpointSubset, EndpointSubset__Output as _netloom_model_v1_EndpointSubset__Output } from '../../../netloom/model/v1/EndpointSubset';

export interface Endpoints {
  'namespace'?: (string);
  'service'?: (string);
  'subsets'?: (_netloom_model_v1_EndpointSubset)[];
}

export interface Endpoints__Output {
  'namespace': (string);
  'service': (string);
  'subsets': (_netloom_model_v1_EndpointSubset__Output)[];
}
