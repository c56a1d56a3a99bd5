// Original file: model.proto


export interface Endpoint {
  'addresses'?: (string)[];
  'nodeName'?: (string);
  'ready'?: (boolean);
  'serving'?: (boolean);
  'terminating'?: (boolean);
  'pod'?: (string);
  'zone'?: (string);
}

export interface Endpoint__Output {
  'addresses': (string)[];
  'nodeName': (string);
  'ready': (boolean);
  'serving': (boolean);
  'terminating': (boolean);
  'pod': (string);
  'zone': (string);
}
