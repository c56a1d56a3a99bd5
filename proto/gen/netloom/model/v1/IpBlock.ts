// Original file: model.proto


export interface IpBlock {
  'cidr'?: (string);
  'except'?: (string)[];
}

export interface IpBlock__Output {
  'cidr': (string);
  'except': (string)[];
}
