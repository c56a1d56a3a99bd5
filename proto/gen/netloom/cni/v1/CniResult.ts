// Original file: cni.proto

import type { Interface as _netloom_cni_v1_Interface, Interface__Output as _netloom_cni_v1_Interface__Output } from '../../../netloom/cni/v1/Interface';
import type { IpConfig as _netloom_cni_v1_IpConfig, IpConfig__Output as _netloom_cni_v1_IpConfig__Output } from '../../../netloom/cni/v1/IpConfig';
import type { Route as _netloom_cni_v1_Route, Route__Output as _netloom_cni_v1_Route__Output } from '../../../netloom/cni/v1/Route';
import type { Dns as _netloom_cni_v1_Dns, Dns__Output as _netloom_cni_v1_Dns__Output } from '../../../netloom/cni/v1/Dns';

export interface CniResult {
  'interfaces'?: (_netloom_cni_v1_Interface)[];
  'ips'?: (_netloom_cni_v1_IpConfig)[];
  'routes'?: (_netloom_cni_v1_Route)[];
  'dns'?: (_netloom_cni_v1_Dns | null);
}

export interface CniResult__Output {
  'interfaces': (_netloom_cni_v1_Interface__Output)[];
  'ips': (_netloom_cni_v1_IpConfig__Output)[];
  'routes': (_netloom_cni_v1_Route__Output)[];
  'dns': (_netloom_cni_v1_Dns__Output | null);
}
