// Original file: model.proto

import type { ServicePort as _netloom_model_v1_ServicePort, ServicePort__Output as _netloom_model_v1_ServicePort__Output } from '../../../netloom/model/v1/ServicePort';

export interface Service {
  'namespace'?: (string);
  'name'?: (string);
  'labels'?: ({[key: string]: string});
  'annotations'?: ({[key: string]: string});
  'type'?: (string);
  'clusterIps'?: (string)[];
  'externalIps'?: (string)[];
  'loadBalancerIps'?: (string)[];
  'loadBalancerClass'?: (string);
  'selector'?: ({[key: string]: string});
  'hasSelector'?: (boolean);
  'ports'?: (_netloom_model_v1_ServicePort)[];
  'sessionAffinity'?: (string);
  'sessionAffinityTimeoutSeconds'?: (number);
  'externalTrafficPolicy'?: (string);
  'internalTrafficPolicy'?: (string);
  'healthCheckNodePort'?: (number);
  'externalName'?: (string);
  'publishNotReadyAddresses'?: (boolean);
  'loadBalancerSourceRanges'?: (string)[];
}

export interface Service__Output {
  'namespace': (string);
  'name': (string);
  'labels': ({[key: string]: string});
  'annotations': ({[key: string]: string});
  'type': (string);
  'clusterIps': (string)[];
  'externalIps': (string)[];
  'loadBalancerIps': (string)[];
  'loadBalancerClass': (string);
  'selector': ({[key: string]: string});
  'hasSelector': (boolean);
  'ports': (_netloom_model_v1_ServicePort__Output)[];
  'sessionAffinity': (string);
  'sessionAffinityTimeoutSeconds': (number);
  'externalTrafficPolicy': (string);
  'internalTrafficPolicy': (string);
  'healthCheckNodePort': (number);
  'externalName': (string);
  'publishNotReadyAddresses': (boolean);
  'loadBalancerSourceRanges': (string)[];
}
