// Original file: stn.proto

import type { InterfaceConfig as _netloom_stn_v1_InterfaceConfig, InterfaceConfig__Output as _netloom_stn_v1_InterfaceConfig__Output } from '../../../netloom/stn/v1/InterfaceConfig';

export interface StolenInterface {
  'config'?: (_netloom_stn_v1_InterfaceConfig | null);
  'since'?: (string);
  'state'?: (string);
}

export interface StolenInterface__Output {
  'config': (_netloom_stn_v1_InterfaceConfig__Output | null);
  'since': (string);
  'state': (string);
}
