// Original file: cni.proto


export interface IpConfig {
  'address'?: (string);
  'gateway'?: (string);
  'interface'?: (number);
}

export interface IpConfig__Output {
  'address': (string);
  'gateway': (string);
  'interface': (number);
}
