// Original file: model.proto

import type { EndpointPort as _netloom_model_v1_EndpointPort, EndpointPort__Output as _netloom_model_v1_EndpointPort__Output } from '../../../netloom/model/v1/EndpointPort';
import type { Endpoint as _netloom_model_v1_Endpoint, Endpoint__Output as _netloom_model_v1_Endpoint__Output } from '../../../netloom/model/v1/Endpoint';

export interface EndpointSubset {
  'ports'?: (_netloom_model_v1_EndpointPort)[];
  'endpoints'?: (_netloom_model_v1_Endpoint)[];
}

export interface EndpointSubset__Output {
  'ports': (_netloom_model_v1_EndpointPort__Output)[];
  'endpoints': (_netloom_model_v1_Endpoint__Output)[];
}
