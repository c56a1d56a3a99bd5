import type * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition } from '@grpc/proto-loader';

import type { Attachment as _netloom_cni_v1_Attachment, Attachment__Output as _netloom_cni_v1_Attachment__Output } from './netloom/cni/v1/Attachment';
import type { CniClient as _netloom_cni_v1_CniClient, CniDefinition as _netloom_cni_v1_CniDefinition } from './netloom/cni/v1/Cni';
import type { CniError as _netloom_cni_v1_CniError, CniError__Output as _netloom_cni_v1_CniError__Output } from './netloom/cni/v1/CniError';
import type { CniReply as _netloom_cni_v1_CniReply, CniReply__Output as _netloom_cni_v1_CniReply__Output } from './netloom/cni/v1/CniReply';
import type { CniRequest as _netloom_cni_v1_CniRequest, CniRequest__Output as _netloom_cni_v1_CniRequest__Output } from './netloom/cni/v1/CniRequest';
import type { CniResult as _netloom_cni_v1_CniResult, CniResult__Output as _netloom_cni_v1_CniResult__Output } from './netloom/cni/v1/CniResult';
import type { Dns as _netloom_cni_v1_Dns, Dns__Output as _netloom_cni_v1_Dns__Output } from './netloom/cni/v1/Dns';
import type { GcRequest as _netloom_cni_v1_GcRequest, GcRequest__Output as _netloom_cni_v1_GcRequest__Output } from './netloom/cni/v1/GcRequest';
import type { Interface as _netloom_cni_v1_Interface, Interface__Output as _netloom_cni_v1_Interface__Output } from './netloom/cni/v1/Interface';
import type { IpConfig as _netloom_cni_v1_IpConfig, IpConfig__Output as _netloom_cni_v1_IpConfig__Output } from './netloom/cni/v1/IpConfig';
import type { Route as _netloom_cni_v1_Route, Route__Output as _netloom_cni_v1_Route__Output } from './netloom/cni/v1/Route';
import type { StatusRequest as _netloom_cni_v1_StatusRequest, StatusRequest__Output as _netloom_cni_v1_StatusRequest__Output } from './netloom/cni/v1/StatusRequest';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  netloom: {
    cni: {
      v1: {
        Attachment: MessageTypeDefinition<_netloom_cni_v1_Attachment, _netloom_cni_v1_Attachment__Output>
        Cni: SubtypeConstructor<typeof grpc.Client, _netloom_cni_v1_CniClient> & { service: _netloom_cni_v1_CniDefinition }
        CniError: MessageTypeDefinition<_netloom_cni_v1_CniError, _netloom_cni_v1_CniError__Output>
        CniReply: MessageTypeDefinition<_netloom_cni_v1_CniReply, _netloom_cni_v1_CniReply__Output>
        CniRequest: MessageTypeDefinition<_netloom_cni_v1_CniRequest, _netloom_cni_v1_CniRequest__Output>
        CniResult: MessageTypeDefinition<_netloom_cni_v1_CniResult, _netloom_cni_v1_CniResult__Output>
        Dns: MessageTypeDefinition<_netloom_cni_v1_Dns, _netloom_cni_v1_Dns__Output>
        GcRequest: MessageTypeDefinition<_netloom_cni_v1_GcRequest, _netloom_cni_v1_GcRequest__Output>
        Interface: MessageTypeDefinition<_netloom_cni_v1_Interface, _netloom_cni_v1_Interface__Output>
        IpConfig: MessageTypeDefinition<_netloom_cni_v1_IpConfig, _netloom_cni_v1_IpConfig__Output>
        Route: MessageTypeDefinition<_netloom_cni_v1_Route, _netloom_cni_v1_Route__Output>
        StatusRequest: MessageTypeDefinition<_netloom_cni_v1_StatusRequest, _netloom_cni_v1_StatusRequest__Output>
      }
    }
  }
}

