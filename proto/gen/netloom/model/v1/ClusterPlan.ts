// Original file: model.proto


export interface ClusterPlan {
  'podCidr'?: (string);
  'serviceCidr'?: (string);
  'nodePrefixLength'?: (number);
  'gatewayOffset'?: (number);
  'vni'?: (number);
  'mesh'?: (boolean);
}

export interface ClusterPlan__Output {
  'podCidr': (string);
  'serviceCidr': (string);
  'nodePrefixLength': (number);
  'gatewayOffset': (number);
  'vni': (number);
  'mesh': (boolean);
}
