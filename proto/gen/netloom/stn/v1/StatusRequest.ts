// Original file: stn.proto


export interface StatusRequest {
}

export interface StatusRequest__Output {
}
