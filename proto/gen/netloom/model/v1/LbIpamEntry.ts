// Original file: model.proto


export interface LbIpamEntry {
  'namespace'?: (string);
  'service'?: (string);
}

export interface LbIpamEntry__Output {
  'namespace': (string);
  'service': (string);
}
