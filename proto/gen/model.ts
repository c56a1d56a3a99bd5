import type * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition } from '@grpc/proto-loader';

import type { AttachmentDns as _netloom_model_v1_AttachmentDns, AttachmentDns__Output as _netloom_model_v1_AttachmentDns__Output } from './netloom/model/v1/AttachmentDns';
import type { AttachmentRecord as _netloom_model_v1_AttachmentRecord, AttachmentRecord__Output as _netloom_model_v1_AttachmentRecord__Output } from './netloom/model/v1/AttachmentRecord';
import type { ClusterPlan as _netloom_model_v1_ClusterPlan, ClusterPlan__Output as _netloom_model_v1_ClusterPlan__Output } from './netloom/model/v1/ClusterPlan';
import type { ContainerPort as _netloom_model_v1_ContainerPort, ContainerPort__Output as _netloom_model_v1_ContainerPort__Output } from './netloom/model/v1/ContainerPort';
import type { Endpoint as _netloom_model_v1_Endpoint, Endpoint__Output as _netloom_model_v1_Endpoint__Output } from './netloom/model/v1/Endpoint';
import type { EndpointPort as _netloom_model_v1_EndpointPort, EndpointPort__Output as _netloom_model_v1_EndpointPort__Output } from './netloom/model/v1/EndpointPort';
import type { EndpointSubset as _netloom_model_v1_EndpointSubset, EndpointSubset__Output as _netloom_model_v1_EndpointSubset__Output } from './netloom/model/v1/EndpointSubset';
import type { Endpoints as _netloom_model_v1_Endpoints, Endpoints__Output as _netloom_model_v1_Endpoints__Output } from './netloom/model/v1/Endpoints';
import type { IpBlock as _netloom_model_v1_IpBlock, IpBlock__Output as _netloom_model_v1_IpBlock__Output } from './netloom/model/v1/IpBlock';
import type { IpamEntry as _netloom_model_v1_IpamEntry, IpamEntry__Output as _netloom_model_v1_IpamEntry__Output } from './netloom/model/v1/IpamEntry';
import type { KsrStatus as _netloom_model_v1_KsrStatus, KsrStatus__Output as _netloom_model_v1_KsrStatus__Output } from './netloom/model/v1/KsrStatus';
import type { LabelSelector as _netloom_model_v1_LabelSelector, LabelSelector__Output as _netloom_model_v1_LabelSelector__Output } from './netloom/model/v1/LabelSelector';
import type { LabelSelectorRequirement as _netloom_model_v1_LabelSelectorRequirement, LabelSelectorRequirement__Output as _netloom_model_v1_LabelSelectorRequirement__Output } from './netloom/model/v1/LabelSelectorRequirement';
import type { LbIpamEntry as _netloom_model_v1_LbIpamEntry, LbIpamEntry__Output as _netloom_model_v1_LbIpamEntry__Output } from './netloom/model/v1/LbIpamEntry';
import type { Namespace as _netloom_model_v1_Namespace, Namespace__Output as _netloom_model_v1_Namespace__Output } from './netloom/model/v1/Namespace';
import type { Network as _netloom_model_v1_Network, Network__Output as _netloom_model_v1_Network__Output } from './netloom/model/v1/Network';
import type { NetworkAttachmentDefinition as _netloom_model_v1_NetworkAttachmentDefinition, NetworkAttachmentDefinition__Output as _netloom_model_v1_NetworkAttachmentDefinition__Output } from './netloom/model/v1/NetworkAttachmentDefinition';
import type { NetworkIdClaim as _netloom_model_v1_NetworkIdClaim, NetworkIdClaim__Output as _netloom_model_v1_NetworkIdClaim__Output } from './netloom/model/v1/NetworkIdClaim';
import type { Node as _netloom_model_v1_Node, Node__Output as _netloom_model_v1_Node__Output } from './netloom/model/v1/Node';
import type { NodeAddress as _netloom_model_v1_NodeAddress, NodeAddress__Output as _netloom_model_v1_NodeAddress__Output } from './netloom/model/v1/NodeAddress';
import type { NodeInfo as _netloom_model_v1_NodeInfo, NodeInfo__Output as _netloom_model_v1_NodeInfo__Output } from './netloom/model/v1/NodeInfo';
import type { Pod as _netloom_model_v1_Pod, Pod__Output as _netloom_model_v1_Pod__Output } from './netloom/model/v1/Pod';
import type { Policy as _netloom_model_v1_Policy, Policy__Output as _netloom_model_v1_Policy__Output } from './netloom/model/v1/Policy';
import type { PolicyPeer as _netloom_model_v1_PolicyPeer, PolicyPeer__Output as _netloom_model_v1_PolicyPeer__Output } from './netloom/model/v1/PolicyPeer';
import type { PolicyPort as _netloom_model_v1_PolicyPort, PolicyPort__Output as _netloom_model_v1_PolicyPort__Output } from './netloom/model/v1/PolicyPort';
import type { PolicyRule as _netloom_model_v1_PolicyRule, PolicyRule__Output as _netloom_model_v1_PolicyRule__Output } from './netloom/model/v1/PolicyRule';
import type { PortRef as _netloom_model_v1_PortRef, PortRef__Output as _netloom_model_v1_PortRef__Output } from './netloom/model/v1/PortRef';
import type { Service as _netloom_model_v1_Service, Service__Output as _netloom_model_v1_Service__Output } from './netloom/model/v1/Service';
import type { ServicePort as _netloom_model_v1_ServicePort, ServicePort__Output as _netloom_model_v1_ServicePort__Output } from './netloom/model/v1/ServicePort';
import type { SharedNetworkIdClaim as _netloom_model_v1_SharedNetworkIdClaim, SharedNetworkIdClaim__Output as _netloom_model_v1_SharedNetworkIdClaim__Output } from './netloom/model/v1/SharedNetworkIdClaim';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  netloom: {
    model: {
      v1: {
        AttachmentDns: MessageTypeDefinition<_netloom_model_v1_AttachmentDns, _netloom_model_v1_AttachmentDns__Output>
        AttachmentRecord: MessageTypeDefinition<_netloom_model_v1_AttachmentRecord, _netloom_model_v1_AttachmentRecord__Output>
        ClusterPlan: MessageTypeDefinition<_netloom_model_v1_ClusterPlan, _netloom_model_v1_ClusterPlan__Output>
        ContainerPort: MessageTypeDefinition<_netloom_model_v1_ContainerPort, _netloom_model_v1_ContainerPort__Output>
        Endpoint: MessageTypeDefinition<_netloom_model_v1_Endpoint, _netloom_model_v1_Endpoint__Output>
        EndpointPort: MessageTypeDefinition<_netloom_model_v1_EndpointPort, _netloom_model_v1_EndpointPort__Output>
        EndpointSubset: MessageTypeDefinition<_netloom_model_v1_EndpointSubset, _netloom_model_v1_EndpointSubset__Output>
        Endpoints: MessageTypeDefinition<_netloom_model_v1_Endpoints, _netloom_model_v1_Endpoints__Output>
        IpBlock: MessageTypeDefinition<_netloom_model_v1_IpBlock, _netloom_model_v1_IpBlock__Output>
        IpamEntry: MessageTypeDefinition<_netloom_model_v1_IpamEntry, _netloom_model_v1_IpamEntry__Output>
        KsrStatus: MessageTypeDefinition<_netloom_model_v1_KsrStatus, _netloom_model_v1_KsrStatus__Output>
        LabelSelector: MessageTypeDefinition<_netloom_model_v1_LabelSelector, _netloom_model_v1_LabelSelector__Output>
        LabelSelectorRequirement: MessageTypeDefinition<_netloom_model_v1_LabelSelectorRequirement, _netloom_model_v1_LabelSelectorRequirement__Output>
        LbIpamEntry: MessageTypeDefinition<_netloom_model_v1_LbIpamEntry, _netloom_model_v1_LbIpamEntry__Output>
        Namespace: MessageTypeDefinition<_netloom_model_v1_Namespace, _netloom_model_v1_Namespace__Output>
        Network: MessageTypeDefinition<_netloom_model_v1_Network, _netloom_model_v1_Network__Output>
        NetworkAttachmentDefinition: MessageTypeDefinition<_netloom_model_v1_NetworkAttachmentDefinition, _netloom_model_v1_NetworkAttachmentDefinition__Output>
        NetworkIdClaim: MessageTypeDefinition<_netloom_model_v1_NetworkIdClaim, _netloom_model_v1_NetworkIdClaim__Output>
        Node: MessageTypeDefinition<_netloom_model_v1_Node, _netloom_model_v1_Node__Output>
        NodeAddress: MessageTypeDefinition<_netloom_model_v1_NodeAddress, _netloom_model_v1_NodeAddress__Output>
        NodeInfo: MessageTypeDefinition<_netloom_model_v1_NodeInfo, _netloom_model_v1_NodeInfo__Output>
        Pod: MessageTypeDefinition<_netloom_model_v1_Pod, _netloom_model_v1_Pod__Output>
        Policy: MessageTypeDefinition<_netloom_model_v1_Policy, _netloom_model_v1_Policy__Output>
        PolicyPeer: MessageTypeDefinition<_netloom_model_v1_PolicyPeer, _netloom_model_v1_PolicyPeer__Output>
        PolicyPort: MessageTypeDefinition<_netloom_model_v1_PolicyPort, _netloom_model_v1_PolicyPort__Output>
        PolicyRule: MessageTypeDefinition<_netloom_model_v1_PolicyRule, _netloom_model_v1_PolicyRule__Output>
        PortRef: MessageTypeDefinition<_netloom_model_v1_PortRef, _netloom_model_v1_PortRef__Output>
        Service: MessageTypeDefinition<_netloom_model_v1_Service, _netloom_model_v1_Service__Output>
        ServicePort: MessageTypeDefinition<_netloom_model_v1_ServicePort, _netloom_model_v1_ServicePort__Output>
        SharedNetworkIdClaim: MessageTypeDefinition<_netloom_model_v1_SharedNetworkIdClaim, _netloom_model_v1_SharedNetworkIdClaim__Output>
      }
    }
  }
}

