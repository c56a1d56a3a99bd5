// Original file: stn.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { ReleaseReply as _netloom_stn_v1_ReleaseReply, ReleaseReply__Output as _netloom_stn_v1_ReleaseReply__Output } from '../../../netloom/stn/v1/ReleaseReply';
import type { ReleaseRequest as _netloom_stn_v1_ReleaseRequest, ReleaseRequest__Output as _netloom_stn_v1_ReleaseRequest__Output } from '../../../netloom/stn/v1/ReleaseRequest';
import type { StatusReply as _netloom_stn_v1_StatusReply, StatusReply__Output as _netloom_stn_v1_StatusReply__Output } from '../../../netloom/stn/v1/StatusReply';
import type { StatusRequest as _netloom_stn_v1_StatusRequest, StatusRequest__Output as _netloom_stn_v1_StatusRequest__Output } from '../../../netloom/stn/v1/StatusRequest';
import type { StealReply as _netloom_stn_v1_StealReply, StealReply__Output as _netloom_stn_v1_StealReply__Output } from '../../../netloom/stn/v1/StealReply';
import type { StealRequest as _netloom_stn_v1_StealRequest, StealRequest__Output as _netloom_stn_v1_StealRequest__Output } from '../../../netloom/stn/v1/StealRequest';

export interface StnClient extends grpc.Client {
  Release(argument: _netloom_stn_v1_ReleaseRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_netloom_stn_v1_ReleaseReply__Output>): grpc.ClientUnaryCall;
  Release(argument: _netloom_stn_v1_ReleaseRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_netloom_stn_v1_ReleaseReply__Output>): grpc.ClientUnaryCall;
  Release(argument: _netloom_stn_v1_ReleaseRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_netloom_stn_v1_ReleaseReply__Output>): grpc.ClientUnaryCall;
  Release(argument: _netloom_stn_v1_ReleaseRequest, callback: grpc.requestCallback<_netloom_stn_v1_ReleaseReply__Output>): grpc.ClientUnaryCall;
  release(argument: _netloom_stn_v1_ReleaseRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_netloom_stn_v1_ReleaseReply__Output>): grpc.ClientUnaryCall;
  release(argument: _netloom_stn_v1_ReleaseRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_netloom_stn_v1_ReleaseReply__Output>): grpc.ClientUnaryCall;
  release(argument: _netloom_stn_v1_ReleaseRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_netloom_stn_v1_ReleaseReply__Output>): grpc.ClientUnaryCall;
  release(argument: _netloom_stn_v1_ReleaseRequest, callback: grpc.requestCallback<_netloom_stn_v1_ReleaseReply__Output>): grpc.ClientUnaryCall;
  
  Status(argument: _netloom_stn_v1_StatusRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_netloom_stn_v1_StatusReply__Output>): grpc.ClientUnaryCall;
  Status(argument: _netloom_stn_v1_StatusRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_netloom_stn_v1_StatusReply__Output>): grpc.ClientUnaryCall;
  Status(argument: _netloom_stn_v1_StatusRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_netloom_stn_v1_StatusReply__Output>): grpc.ClientUnaryCall;
  Status(argument: _netloom_stn_v1_StatusRequest, callback: grpc.requestCallback<_netloom_stn_v1_StatusReply__Output>): grpc.ClientUnaryCall;
  status(argument: _netloom_stn_v1_StatusRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_netloom_stn_v1_StatusReply__Output>): grpc.ClientUnaryCall;
  status(argument: _netloom_stn_v1_StatusRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_netloom_stn_v1_StatusReply__Output>): grpc.ClientUnaryCall;
  status(argument: _netloom_stn_v1_StatusRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_netloom_stn_v1_StatusReply__Output>): grpc.ClientUnaryCall;
  status(argument: _netloom_stn_v1_StatusRequest, callback: grpc.requestCallback<_netloom_stn_v1_StatusReply__Output>): grpc.ClientUnaryCall;
  
  Steal(argument: _netloom_stn_v1_StealRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_netloom_stn_v1_StealReply__Output>): grpc.ClientUnaryCall;
  Steal(argument: _netloom_stn_v1_StealRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_netloom_stn_v1_StealReply__Output>): grpc.ClientUnaryCall;
  Steal(argument: _netloom_stn_v1_StealRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_netloom_stn_v1_StealReply__Output>): grpc.ClientUnaryCall;
  Steal(argument: _netloom_stn_v1_StealRequest, callback: grpc.requestCallback<_netloom_stn_v1_StealReply__Output>): grpc.ClientUnaryCall;
  steal(argument: _netloom_stn_v1_StealRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_netloom_stn_v1_StealReply__Output>): grpc.ClientUnaryCall;
  steal(argument: _netloom_stn_v1_StealRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_netloom_stn_v1_StealReply__Output>): grpc.ClientUnaryCall;
  steal(argument: _netloom_stn_v1_StealRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_netloom_stn_v1_StealReply__Output>): grpc.ClientUnaryCall;
  steal(argument: _netloom_stn_v1_StealRequest, callback: grpc.requestCallback<_netloom_stn_v1_StealReply__Output>): grpc.ClientUnaryCall;
  
}

export interface StnHandlers extends grpc.UntypedServiceImplementation {
  Release: grpc.handleUnaryCall<_netloom_stn_v1_ReleaseRequest__Output, _netloom_stn_v1_ReleaseReply>;
  
  Status: grpc.handleUnaryCall<_netloom_stn_v1_StatusRequest__Output, _netloom_stn_v1_StatusReply>;
  
  Steal: grpc.handleUnaryCall<_netloom_stn_v1_StealRequest__Output, _netloom_stn_v1_StealReply>;
  
}

export interface StnDefinition extends grpc.ServiceDefinition {
  Release: MethodDefinition<_netloom_stn_v1_ReleaseRequest, _netloom_stn_v1_ReleaseReply, _netloom_stn_v1_ReleaseRequest__Output, _netloom_stn_v1_ReleaseReply__Output>
  Status: MethodDefinition<_netloom_stn_v1_StatusRequest, _netloom_stn_v1_StatusReply, _netloom_stn_v1_StatusRequest__Output, _netloom_stn_v1_StatusReply__Output>
  Steal: MethodDefinition<_netloom_stn_v1_StealRequest, _netloom_stn_v1_StealReply, _netloom_stn_v1_StealRequest__Output, _netloom_stn_v1_StealReply__Output>
}
