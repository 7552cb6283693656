/** SPIFFE ID of an agent instance: `spiffe://<trust-domain>/agent/<agent-id>/i/<instance-id>`. */
export const instanceSpiffeId = (trustDomain: string, agentId: string, instanceId: string) =>
  `spiffe://${trustDomain}/agent/${agentId}/i/${instanceId}`;
