// Original file: stn.proto


export interface IpAddress {
  'address'?: (string);
  'family'?: (string);
  'scope'?: (string);
}

export interface IpAddress__Output {
  'address': (string);
  'family': (string);
  'scope': (string);
}
