// Original file: stn.proto

import type { InterfaceConfig as _netloom_stn_v1_InterfaceConfig, InterfaceConfig__Output as _netloom_stn_v1_InterfaceConfig__Output } from '../../../netloom/stn/v1/InterfaceConfig';

export interface StealReply {
  'config'?: (_netloom_stn_v1_InterfaceConfig | null);
}

export interface StealReply__Output {
  'config': (_netloom_stn_v1_InterfaceConfig__Output | null);
}
