// Original file: model.proto


export interface NodeInfo {
  'name'?: (string);
  'id'?: (number);
  'managementIp'?: (string);
  'tunnelEndpoint'?: (string);
  'podSubnet'?: (string);
}

export interface NodeInfo__Output {
  'name': (string);
  'id': (number);
  'managementIp': (string);
  'tunnelEndpoint': (string);
  'podSubnet': (string);
}
