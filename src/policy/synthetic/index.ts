/** Seeded synthetic policy sets and requests: the slicing differential test and the bench. */
export { deploymentPolicies, deploymentPools, deploymentRequests } from './deployment.ts';
export { syntheticPolicies } from './policies.ts';
export { DENSE, type Pools, seeded, syntheticRequests, WIDE } from './world.ts';
