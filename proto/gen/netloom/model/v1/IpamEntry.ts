// Original file: model.proto


export interface IpamEntry {
  'namespace'?: (string);
  'pod'?: (string);
  'containerId'?: (string);
  'ifname'?: (string);
  'network'?: (string);
  'netns'?: (string);
  'extra'?: (boolean);
  'mac'?: (string);
}

export interface IpamEntry__Output {
  'namespace': (string);
  'pod': (string);
  'containerId': (string);
  'ifname': (string);
  'network': (string);
  'netns': (string);
  'extra': (boolean);
  'mac': (string);
}
