// Original file: model.proto


export interface EndpointPort {
  'name'?: (string);
  'port'?: (number);
  'protocol'?: (string);
}

export interface EndpointPort__Output {
  'name': (string);
  'port': (number);
  'protocol': (string);
}
