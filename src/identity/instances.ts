import { MandateError, refusal } from '../errors.ts';
import type { InstancesTable } from '../store/schema.ts';
import { isUniqueViolation } from '../store/errors.ts';
import { instancesRepository } from '../store/repositories/instances.ts';
import type { Queryable } from '../store/store.ts';

export interface Instance {
  id: string;
  agent_id: string;
  spiffe_id: string;
  jkt: string;
  public_jwk: Record<string, string>;
  claims: Record<string, unknown>;
  status: 'active' | 'revoked';
  created_at: string;
  revoked_at: string | null;
}

const fromRow = (row: InstancesTable): Instance => ({
  ...row,
  public_jwk: JSON.parse(row.public_jwk),
  claims: JSON.parse(row.claims),
  status: row.status as Instance['status'],
});

export async function insertInstance(db: Queryable, instance: Omit<Instance, 'revoked_at' | 'status'>): Promise<void> {
  const reused = () => new MandateError('ERR_ATTESTATION_KEY_REUSED', 'this instance key is already bound to another instance');
  const instances = instancesRepository(db);
  if (await instances.findByJkt(instance.jkt)) throw reused();
  try {
    await instances.insert({
      ...instance,
      public_jwk: JSON.stringify(instance.public_jwk),
      claims: JSON.stringify(instance.claims),
      status: 'active',
      revoked_at: null,
    });
  } catch (error) {
    // Two attestations with one key at the same moment (on two replicas): the second loses here.
    if (isUniqueViolation(error)) throw reused();
    throw error;
  }
}

export async function findInstance(db: Queryable, id: string): Promise<Instance | undefined> {
  const row = await instancesRepository(db).find(id);
  return row ? fromRow(row) : undefined;
}

export async function getInstance(db: Queryable, id: string): Promise<Instance> {
  const instance = await findInstance(db, id);
  if (!instance) throw refusal('ERR_INSTANCE_NOT_FOUND', `instance ${id} not found`);
  return instance;
}

export async function listInstances(db: Queryable, filter: { agentId?: string | undefined } = {}): Promise<Instance[]> {
  return (await instancesRepository(db).list(filter)).map(fromRow);
}
