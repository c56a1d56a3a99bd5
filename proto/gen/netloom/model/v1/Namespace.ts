// Original file: model.proto


export interface Namespace {
  'name'?: (string);
  'labels'?: ({[key: string]: string});
  'annotations'?: ({[key: string]: string});
}

export interface Namespace__Output {
  'name': (string);
  'labels': ({[key: string]: string});
  'annotations': ({[key: string]: string});
}
