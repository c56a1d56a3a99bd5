// Original file: stn.proto

import type { InterfaceConfig as _netloom_stn_v1_InterfaceConfig, InterfaceConfig__Output as _netloom_stn_v1_InterfaceConfig__Output } from '../../../netloom/stn/v1/InterfaceConfig';

export interface ReleaseReply {
  'restored'?: (_netloom_stn_v1_InterfaceConfig | null);
}

export interface ReleaseReply__Output {
  'restored': (_netloom_stn_v1_InterfaceConfig__Output | null);
}
