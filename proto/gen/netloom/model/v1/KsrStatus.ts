// Original file: model.proto


export interface KsrStatus {
  'leader'?: (string);
  'lastFullSync'?: (string);
  'lastFullSyncRevision'?: (string);
  'counts'?: ({[key: string]: number});
  'heartbeat'?: (string);
}

export interface KsrStatus__Output {
  'leader': (string);
  'lastFullSync': (string);
  'lastFullSyncRevision': (string);
  'counts': ({[key: string]: number});
  'heartbeat': (string);
}
