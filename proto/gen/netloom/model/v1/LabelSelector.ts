// Original file: model.proto

import type { LabelSelectorRequirement as _netloom_model_v1_LabelSelectorRequirement, LabelSelectorRequirement__Output as _netloom_model_v1_LabelSelectorRequirement__Output } from '../../../netloom/model/v1/LabelSelectorRequirement';

export interface LabelSelector {
  'matchLabels'?: ({[key: string]: string});
  'matchExpressions'?: (_netloom_model_v1_LabelSelectorRequirement)[];
}

export interface LabelSelector__Output {
  'matchLabels': ({[key: string]: string});
  'matchExpressions': (_netloom_model_v1_LabelSelectorRequirement__Output)[];
}
