// Original file: cni.proto


export interface StatusRequest {
  'cniVersion'?: (string);
  'networkConfig'?: (string);
}

export interface StatusRequest__Output {
  'cniVersion': (string);
  'networkConfig': (string);
}
