// Original file: model.proto


export interface NetworkAttachmentDefinition {
  'namespace'?: (string);
  'name'?: (string);
  'config'?: (string);
  'resourceName'?: (string);
  'annotations'?: ({[key: string]: string});
  'terminating'?: (boolean);
}

export interface NetworkAttachmentDefinition__Output {
  'namespace': (string);
  'name': (string);
  'config': (string);
  'resourceName': (string);
  'annotations': ({[key: string]: string});
  'terminating': (boolean);
}
