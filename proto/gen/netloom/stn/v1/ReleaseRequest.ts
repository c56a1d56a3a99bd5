// Original file: stn.proto


export interface ReleaseRequest {
  'interfaceName'?: (string);
}

export interface ReleaseRequest__Output {
  'interfaceName': (string);
}
