// Original file: stn.proto

import type { IpAddress as _netloom_stn_v1_IpAddress, IpAddress__Output as _netloom_stn_v1_IpAddress__Output } from '../../../netloom/stn/v1/IpAddress';
import type { IpRoute as _netloom_stn_v1_IpRoute, IpRoute__Output as _netloom_stn_v1_IpRoute__Output } from '../../../netloom/stn/v1/IpRoute';

export interface InterfaceConfig {
  'name'?: (string);
  'mac'?: (string);
  'mtu'?: (number);
  'pciAddress'?: (string);
  'kernelDriver'?: (string);
  'addresses'?: (_netloom_stn_v1_IpAddress)[];
  'routes'?: (_netloom_stn_v1_IpRoute)[];
  'dhcp'?: (boolean);
}

export interface InterfaceConfig__Output {
  'name': (string);
  'mac': (string);
  'mtu': (number);
  'pciAddress': (string);
  'kernelDriver': (string);
  'addresses': (_netloom_stn_v1_IpAddress__Output)[];
  'routes': (_netloom_stn_v1_IpRoute__Output)[];
  'dhcp': (boolean);
}
