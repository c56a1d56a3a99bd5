// Original file: cni.proto


export interface Dns {
  'nameservers'?: (string)[];
  'domain'?: (string);
  'search'?: (string)[];
  'options'?: (string)[];
}

export interface Dns__Output {
  'nameservers': (string)[];
  'domain': (string);
  'search': (string)[];
  'options': (string)[];
}
