// Original file: model.proto


export interface SharedNetworkIdClaim {
  'cluster'?: (string);
  'network'?: (string);
}

export interface SharedNetworkIdClaim__Output {
  'cluster': (string);
  'network': (string);
}
