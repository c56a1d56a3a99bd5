// Original file: cni.proto


export interface Interface {
  'name'?: (string);
  'mac'?: (string);
  'mtu'?: (number);
  'sandbox'?: (string);
}

export interface Interface__Output {
  'name': (string);
  'mac': (string);
  'mtu': (number);
  'sandbox': (string);
}
