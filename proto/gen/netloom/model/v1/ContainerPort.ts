// Original file: model.proto


export interface ContainerPort {
  'name'?: (string);
  'containerPort'?: (number);
  'protocol'?: (string);
}

export interface ContainerPort__Output {
  'name': (string);
  'containerPort': (number);
  'protocol': (string);
}
