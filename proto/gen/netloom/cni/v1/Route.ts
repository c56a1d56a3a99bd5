// Original file: cni.proto


export interface Route {
  'dst'?: (string);
  'gw'?: (string);
  'mtu'?: (number);
  'priority'?: (number);
  'table'?: (number);
  'scope'?: (string);
}

export interface Route__Output {
  'dst': (string);
  'gw': (string);
  'mtu': (number);
  'priority': (number);
  'table': (number);
  'scope': (string);
}
