// Original file: model.proto


export interface Network {
  'name'?: (string);
  'id'?: (number);
  'subnets'?: (string)[];
}

export interface Network__Output {
  'name': (string);
  'id': (number);
  'subnets': (string)[];
}
