// Original file: stn.proto


export interface StealRequest {
  'interfaceName'?: (string);
  'dhcp'?: (boolean);
  'unbind'?: (boolean);
}

export interface StealRequest__Output {
  'interfaceName': (string);
  'dhcp': (boolean);
  'unbind': (boolean);
}
