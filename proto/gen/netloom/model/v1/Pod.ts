// Original file: model.proto

import type { ContainerPort as _netloom_model_v1_ContainerPort, ContainerPort__Output as _netloom_model_v1_ContainerPort__Output } from '../../../netloom/model/v1/ContainerPort';

export interface Pod {
  'namespace'?: (string);
  'name'?: (string);
  'uid'?: (string);
  'labels'?: ({[key: string]: string});
  'annotations'?: ({[key: string]: string});
  'nodeName'?: (string);
  'hostNetwork'?: (boolean);
  'podIps'?: (string)[];
  'phase'?: (string);
  'containerPorts'?: (_netloom_model_v1_ContainerPort)[];
  'terminating'?: (boolean);
}

export interface Pod__Output {
  'namespace': (string);
  'name': (string);
  'uid': (string);
  'labels': ({[key: string]: string});
  'annotations': ({[key: string]: string});
  'nodeName': (string);
  'hostNetwork': (boolean);
  'podIps': (string)[];
  'phase': (string);
  'containerPorts': (_netloom_model_v1_ContainerPort__Output)[];
  'terminating': (boolean);
}
