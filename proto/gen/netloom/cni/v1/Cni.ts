// Original file: cni.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { CniReply as _netloom_cni_v1_CniReply, CniReply__Output as _netloom_cni_v1_CniReply__Output } from '../../../netloom/cni/v1/CniReply';
import type { CniRequest as _netloom_cni_v1_CniRequest, CniRequest__Output as _netloom_cni_v1_CniRequest__Output } from '../../../netloom/cni/v1/CniRequest';
import type { GcRequest as _netloom_cni_v1_GcRequest, GcRequest__Output as _netloom_cni_v1_GcRequest__Output } from '../../../netloom/cni/v1/GcRequest';
import type { StatusRequest as _netloom_cni_v1_StatusRequest, StatusRequest__Output as _netloom_cni_v1_StatusRequest__Output } from '../../../netloom/cni/v1/StatusRequest';

export interface CniClient extends grpc.Client {
  Add(argument: _netloom_cni_v1_CniRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_netloom_cni_v1_CniReply__Output>): grpc.ClientUnaryCall;
  Add(argument: _netloom_cni_v1_CniRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_netloom_cni_v1_CniReply__Output>): grpc.ClientUnaryCall;
  Add(argument: _netloom_cni_v1_CniRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_netloom_cni_v1_CniReply__Output>): grpc.ClientUnaryCall;
  Add(argument: _netloom_cni_v1_CniRequest, callback: grpc.requestCallback<_netloom_cni_v1_CniReply__Output>): grpc.ClientUnaryCall;
  add(argument: _netloom_cni_v1_CniRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_netloom_cni_v1_CniReply__Output>): grpc.ClientUnaryCall;
  add(argument: _netloom_cni_v1_CniRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_netloom_cni_v1_CniReply__Output>): grpc.ClientUnaryCall;
  add(argument: _netloom_cni_v1_CniRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_netloom_cni_v1_CniReply__Output>): grpc.ClientUnaryCall;
  add(argument: _netloom_cni_v1_CniRequest, callback: grpc.requestCallback<_netloom_cni_v1_CniReply__Output>): grpc.ClientUnaryCall;
  
  Check(argument: _netloom_cni_v1_CniRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_netloom_cni_v1_CniReply__Output>): grpc.ClientUnaryCall;
  Check(argument: _netloom_cni_v1_CniRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_netloom_cni_v1_CniReply__Output>): grpc.ClientUnaryCall;
  Check(argument: _netloom_cni_v1_CniRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_netloom_cni_v1_CniReply__Output>): grpc.ClientUnaryCall;
  Check(argument: _netloom_cni_v1_CniRequest, callback: grpc.requestCallback<_netloom_cni_v1_CniReply__Output>): grpc.ClientUnaryCall;
  check(argument: _netloom_cni_v1_CniRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_netloom_cni_v1_CniReply__Output>): grpc.ClientUnaryCall;
  check(argument: _netloom_cni_v1_CniRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_netloom_cni_v1_CniReply__Output>): grpc.ClientUnaryCall;
  check(argument: _netloom_cni_v1_CniRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_netloom_cni_v1_CniReply__Output>): grpc.ClientUnaryCall;
  check(argument: _netloom_cni_v1_CniRequest, callback: grpc.requestCallback<_netloom_cni_v1_CniReply__Output>): grpc.ClientUnaryCall;
  
  Del(argument: _netloom_cni_v1_CniRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_netloom_cni_v1_CniReply__Output>): grpc.ClientUnaryCall;
  Del(argument: _netloom_cni_v1_CniRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_netloom_cni_v1_CniReply__Output>): grpc.ClientUnaryCall;
  Del(argument: _netloom_cni_v1_CniRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_netloom_cni_v1_CniReply__Output>): grpc.ClientUnaryCall;
  Del(argument: _netloom_cni_v1_CniRequest, callback: grpc.requestCallback<_netloom_cni_v1_CniReply__Output>): grpc.ClientUnaryCall;
  del(argument: _netloom_cni_v1_CniRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_netloom_cni_v1_CniReply__Output>): grpc.ClientUnaryCall;
  del(argument: _netloom_cni_v1_CniRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_netloom_cni_v1_CniReply__Output>): grpc.ClientUnaryCall;
  del(argument: _netloom_cni_v1_CniRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_netloom_cni_v1_CniReply__Output>): grpc.ClientUnaryCall;
  del(argument: _netloom_cni_v1_CniRequest, callback: grpc.requestCallback<_netloom_cni_v1_CniReply__Output>): grpc.ClientUnaryCall;
  
  Gc(argument: _netloom_cni_v1_GcRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_netloom_cni_v1_CniReply__Output>): grpc.ClientUnaryCall;
  Gc(argument: _netloom_cni_v1_GcRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_netloom_cni_v1_CniReply__Output>): grpc.ClientUnaryCall;
  Gc(argument: _netloom_cni_v1_GcRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_netloom_cni_v1_CniReply__Output>): grpc.ClientUnaryCall;
  Gc(argument: _netloom_cni_v1_GcRequest, callback: grpc.requestCallback<_netloom_cni_v1_CniReply__Output>): grpc.ClientUnaryCall;
  gc(argument: _netloom_cni_v1_GcRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_netloom_cni_v1_CniReply__Output>): grpc.ClientUnaryCall;
  gc(argument: _netloom_cni_v1_GcRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_netloom_cni_v1_CniReply__Output>): grpc.ClientUnaryCall;
  gc(argument: _netloom_cni_v1_GcRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_netloom_cni_v1_CniReply__Output>): grpc.ClientUnaryCall;
  gc(argument: _netloom_cni_v1_GcRequest, callback: grpc.requestCallback<_netloom_cni_v1_CniReply__Output>): grpc.ClientUnaryCall;
  
  Status(argument: _netloom_cni_v1_StatusRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_netloom_cni_v1_CniReply__Output>): grpc.ClientUnaryCall;
  Status(argument: _netloom_cni_v1_StatusRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_netloom_cni_v1_CniReply__Output>): grpc.ClientUnaryCall;
  Status(argument: _netloom_cni_v1_StatusRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_netloom_cni_v1_CniReply__Output>): grpc.ClientUnaryCall;
  Status(argument: _netloom_cni_v1_StatusRequest, callback: grpc.requestCallback<_netloom_cni_v1_CniReply__Output>): grpc.ClientUnaryCall;
  status(argument: _netloom_cni_v1_StatusRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_netloom_cni_v1_CniReply__Output>): grpc.ClientUnaryCall;
  status(argument: _netloom_cni_v1_StatusRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_netloom_cni_v1_CniReply__Output>): grpc.ClientUnaryCall;
  status(argument: _netloom_cni_v1_StatusRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_netloom_cni_v1_CniReply__Output>): grpc.ClientUnaryCall;
  status(argument: _netloom_cni_v1_StatusRequest, callback: grpc.requestCallback<_netloom_cni_v1_CniReply__Output>): grpc.ClientUnaryCall;
  
}

export interface CniHandlers extends grpc.UntypedServiceImplementation {
  Add: grpc.handleUnaryCall<_netloom_cni_v1_CniRequest__Output, _netloom_cni_v1_CniReply>;
  
  Check: grpc.handleUnaryCall<_netloom_cni_v1_CniRequest__Output, _netloom_cni_v1_CniReply>;
  
  Del: grpc.handleUnaryCall<_netloom_cni_v1_CniRequest__Output, _netloom_cni_v1_CniReply>;
  
  Gc: grpc.handleUnaryCall<_netloom_cni_v1_GcRequest__Output, _netloom_cni_v1_CniReply>;
  
  Status: grpc.handleUnaryCall<_netloom_cni_v1_StatusRequest__Output, _netloom_cni_v1_CniReply>;
  
}

export interface CniDefinition extends grpc.ServiceDefinition {
  Add: MethodDefinition<_netloom_cni_v1_CniRequest, _netloom_cni_v1_CniReply, _netloom_cni_v1_CniRequest__Output, _netloom_cni_v1_CniReply__Output>
  Check: MethodDefinition<_netloom_cni_v1_CniRequest, _netloom_cni_v1_CniReply, _netloom_cni_v1_CniRequest__Output, _netloom_cni_v1_CniReply__Output>
  Del: MethodDefinition<_netloom_cni_v1_CniRequest, _netloom_cni_v1_CniReply, _netloom_cni_v1_CniRequest__Output, _netloom_cni_v1_CniReply__Output>
  Gc: MethodDefinition<_netloom_cni_v1_GcRequest, _netloom_cni_v1_CniReply, _netloom_cni_v1_GcRequest__Output, _netloom_cni_v1_CniReply__Output>
  Status: MethodDefinition<_netloom_cni_v1_StatusRequest, _netloom_cni_v1_CniReply, _netloom_cni_v1_StatusRequest__Output, _netloom_cni_v1_CniReply__Output>
}
