// Original file: stn.proto


export interface WatchdogStatus {
  'enabled'?: (boolean);
  'consecutiveFailures'?: (number);
  'failureThreshold'?: (number);
  'lastCheck'?: (string);
  'lastError'?: (string);
}

export interface WatchdogStatus__Output {
  'enabled': (boolean);
  'consecutiveFailures': (number);
  'failureThreshold': (number);
  'lastCheck': (string);
  'lastError': (string);
}
