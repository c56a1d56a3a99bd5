// Original file: cni.proto


export interface CniRequest {
  'containerId'?: (string);
  'netns'?: (string);
  'ifname'?: (string);
  'cniArgs'?: (string);
  'podNamespace'?: (string);
  'podName'?: (string);
  'podUid'?: (string);
  'infraContainerId'?: (string);
  'cniVersion'?: (string);
  'networkConfig'?: (string);
}

export interface CniRequest__Output {
  'containerId': (string);
  'netns': (string);
  'ifname': (string);
  'cniArgs': (string);
  'podNamespace': (string);
  'podName': (string);
  'podUid': (string);
  'infraContainerId': (string);
  'cniVersion': (string);
  'networkConfig': (string);
}
