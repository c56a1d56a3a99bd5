// Original file: model.proto

import type { AttachmentDns as _netloom_model_v1_AttachmentDns, AttachmentDns__Output as _netloom_model_v1_AttachmentDns__Output } from '../../../netloom/model/v1/AttachmentDns';

export interface AttachmentRecord {
  'containerId'?: (string);
  'podUid'?: (string);
  'network'?: (string);
  'name'?: (string);
  'ips'?: (string)[];
  'mac'?: (string);
  'default'?: (boolean);
  'gateways'?: (string)[];
  'dns'?: (_netloom_model_v1_AttachmentDns | null);
  'index'?: (number);
}

export interface AttachmentRecord__Output {
  'containerId': (string);
  'podUid': (string);
  'network': (string);
  'name': (string);
  'ips': (string)[];
  'mac': (string);
  'default': (boolean);
  'gateways': (string)[];
  'dns': (_netloom_model_v1_AttachmentDns__Output | null);
  'index': (number);
}
