// Original file: model.proto


export interface AttachmentDns {
  'nameservers'?: (string)[];
  'domain'?: (string);
  'search'?: (string)[];
  'options'?: (string)[];
}

export interface AttachmentDns__Output {
  'nameservers': (string)[];
  'domain': (string);
  'search': (string)[];
  'options': (string)[];
}
