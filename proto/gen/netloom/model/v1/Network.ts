// Original file: model.proto


export interface Network {
  'name'?: (string);
  'id'?: (number);
  'subnets'?: (string)[];
  'vni'?: (number);
  'nodePrefixLength'?: (number);
  'gatewayOffset'?: (number);
  'snat'?: (boolean);
}

export interface Network__Output {
  'name': (string);
  'id': (number);
  'subnets': (string)[];
  'vni': (number);
  'nodePrefixLength': (number);
  'gatewayOffset': (number);
  'snat': (boolean);
}
