import type * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition } from '@grpc/proto-loader';

import type { InterfaceConfig as _netloom_stn_v1_InterfaceConfig, InterfaceConfig__Output as _netloom_stn_v1_InterfaceConfig__Output } from './netloom/stn/v1/InterfaceConfig';
import type { IpAddress as _netloom_stn_v1_IpAddress, IpAddress__Output as _netloom_stn_v1_IpAddress__Output } from './netloom/stn/v1/IpAddress';
import type { IpRoute as _netloom_stn_v1_IpRoute, IpRoute__Output as _netloom_stn_v1_IpRoute__Output } from './netloom/stn/v1/IpRoute';
import type { ReleaseReply as _netloom_stn_v1_ReleaseReply, ReleaseReply__Output as _netloom_stn_v1_ReleaseReply__Output } from './netloom/stn/v1/ReleaseReply';
import type { ReleaseRequest as _netloom_stn_v1_ReleaseRequest, ReleaseRequest__Output as _netloom_stn_v1_ReleaseRequest__Output } from './netloom/stn/v1/ReleaseRequest';
import type { StatusReply as _netloom_stn_v1_StatusReply, StatusReply__Output as _netloom_stn_v1_StatusReply__Output } from './netloom/stn/v1/StatusReply';
import type { StatusRequest as _netloom_stn_v1_StatusRequest, StatusRequest__Output as _netloom_stn_v1_StatusRequest__Output } from './netloom/stn/v1/StatusRequest';
import type { StealReply as _netloom_stn_v1_StealReply, StealReply__Output as _netloom_stn_v1_StealReply__Output } from './netloom/stn/v1/StealReply';
import type { StealRequest as _netloom_stn_v1_StealRequest, StealRequest__Output as _netloom_stn_v1_StealRequest__Output } from './netloom/stn/v1/StealRequest';
import type { StnClient as _netloom_stn_v1_StnClient, StnDefinition as _netloom_stn_v1_StnDefinition } from './netloom/stn/v1/Stn';
import type { StolenInterface as _netloom_stn_v1_StolenInterface, StolenInterface__Output as _netloom_stn_v1_StolenInterface__Output } from './netloom/stn/v1/StolenInterface';
import type { WatchdogStatus as _netloom_stn_v1_WatchdogStatus, WatchdogStatus__Output as _netloom_stn_v1_WatchdogStatus__Output } from './netloom/stn/v1/WatchdogStatus';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  netloom: {
    stn: {
      v1: {
        InterfaceConfig: MessageTypeDefinition<_netloom_stn_v1_InterfaceConfig, _netloom_stn_v1_InterfaceConfig__Output>
        IpAddress: MessageTypeDefinition<_netloom_stn_v1_IpAddress, _netloom_stn_v1_IpAddress__Output>
        IpRoute: MessageTypeDefinition<_netloom_stn_v1_IpRoute, _netloom_stn_v1_IpRoute__Output>
        ReleaseReply: MessageTypeDefinition<_netloom_stn_v1_ReleaseReply, _netloom_stn_v1_ReleaseReply__Output>
        ReleaseRequest: MessageTypeDefinition<_netloom_stn_v1_ReleaseRequest, _netloom_stn_v1_ReleaseRequest__Output>
        StatusReply: MessageTypeDefinition<_netloom_stn_v1_StatusReply, _netloom_stn_v1_StatusReply__Output>
        StatusRequest: MessageTypeDefinition<_netloom_stn_v1_StatusRequest, _netloom_stn_v1_StatusRequest__Output>
        StealReply: MessageTypeDefinition<_netloom_stn_v1_StealReply, _netloom_stn_v1_StealReply__Output>
        StealRequest: MessageTypeDefinition<_netloom_stn_v1_StealRequest, _netloom_stn_v1_StealRequest__Output>
        Stn: SubtypeConstructor<typeof grpc.Client, _netloom_stn_v1_StnClient> & { service: _netloom_stn_v1_StnDefinition }
        StolenInterface: MessageTypeDefinition<_netloom_stn_v1_StolenInterface, _netloom_stn_v1_StolenInterface__Output>
        WatchdogStatus: MessageTypeDefinition<_netloom_stn_v1_WatchdogStatus, _netloom_stn_v1_WatchdogStatus__Output>
      }
    }
  }
}

