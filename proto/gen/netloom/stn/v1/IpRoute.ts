// Original file: stn.proto


export interface IpRoute {
  'dst'?: (string);
  'gateway'?: (string);
  'table'?: (number);
  'metric'?: (number);
  'scope'?: (string);
  'protocol'?: (string);
  'src'?: (string);
  'family'?: (string);
  'type'?: (string);
}

export interface IpRoute__Output {
  'dst': (string);
  'gateway': (string);
  'table': (number);
  'metric': (number);
  'scope': (string);
  'protocol': (string);
  'src': (string);
  'family': (string);
  'type': (string);
}
