// Original file: cni.proto

import type { Attachment as _netloom_cni_v1_Attachment, Attachment__Output as _netloom_cni_v1_Attachment__Output } from '../../../netloom/cni/v1/Attachment';

export interface GcRequest {
  'cniVersion'?: (string);
  'networkConfig'?: (string);
  'validAttachments'?: (_netloom_cni_v1_Attachment)[];
}

export interface GcRequest__Output {
  'cniVersion': (string);
  'networkConfig': (string);
  'validAttachments': (_netloom_cni_v1_Attachment__Output)[];
}
