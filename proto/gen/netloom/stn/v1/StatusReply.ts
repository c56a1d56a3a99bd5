// Original file: stn.proto

import type { StolenInterface as _netloom_stn_v1_StolenInterface, StolenInterface__Output as _netloom_stn_v1_StolenInterface__Output } from '../../../netloom/stn/v1/StolenInterface';
import type { WatchdogStatus as _netloom_stn_v1_WatchdogStatus, WatchdogStatus__Output as _netloom_stn_v1_WatchdogStatus__Output } from '../../../netloom/stn/v1/WatchdogStatus';

export interface StatusReply {
  'stolen'?: (_netloom_stn_v1_StolenInterface)[];
  'watchdog'?: (_netloom_stn_v1_WatchdogStatus | null);
}

export interface StatusReply__Output {
  'stolen': (_netloom_stn_v1_StolenInterface__Output)[];
  'watchdog': (_netloom_stn_v1_WatchdogStatus__Output | null);
}
