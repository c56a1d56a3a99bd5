// Original file: model.proto


export interface NetworkIdClaim {
  'network'?: (string);
}

export interface NetworkIdClaim__Output {
  'network': (string);
}
