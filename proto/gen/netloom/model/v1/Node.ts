// Original file: model.proto

import type { NodeAddress as _netloom_model_v1_NodeAddress, NodeAddress__Output as _netloom_model_v1_NodeAddress__Output } from '../../../netloom/model/v1/NodeAddress';

export interface Node {
  'name'?: (string);
  'labels'?: ({[key: string]: string});
  'annotations'?: ({[key: string]: string});
  'addresses'?: (_netloom_model_v1_NodeAddress)[];
  'podCidrs'?: (string)[];
  'unschedulable'?: (boolean);
}

export interface Node__Output {
  'name': (string);
  'labels': ({[key: string]: string});
  'annotations': ({[key: string]: string});
  'addresses': (_netloom_model_v1_NodeAddress__Output)[];
  'podCidrs': (string)[];
  'unschedulable': (boolean);
}
