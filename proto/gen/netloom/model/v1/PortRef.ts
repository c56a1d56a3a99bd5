// Original file: model.proto


export interface PortRef {
  'number'?: (number);
  'name'?: (string);
}

export interface PortRef__Output {
  'number': (number);
  'name': (string);
}
