import { MandateError, refusal } from '../errors.ts';
import type { MasterKey } from '../identity/master-key.ts';
import { seal, sealedKeyId, unseal } from '../identity/seal.ts';
import { secretsRepository } from '../store/repositories/secrets.ts';
import type { Queryable } from '../store/store.ts';

/**
 * The secret store: upstream credentials sealed with AES-256-GCM under the master key (the
 * secret's name is the associated data). Values are read only by the broker and gateway at the
 * moment they inject them; the API returns metadata, never a value.
 */
export interface SecretMetadata {
  name: string;
  master_key_id: string;
  created_at: string;
  updated_at: string;
}

/** `name`, or `name/<person sub>` for a per-person credential (OIDC subs such as `auth0|42` included). */
export const SECRET_NAME = /^[A-Za-z0-9_.-]{1,100}(\/[A-Za-z0-9_.@+|:=-]{1,200})?$/;
const context = (name: string) => `secret:${name}`;

export async function setSecret(db: Queryable, master: MasterKey, name: string, value: string, now: Date): Promise<SecretMetadata> {
  if (!SECRET_NAME.test(name)) throw new MandateError('ERR_SECRET_NAME', 'secret names are letters, digits, _ . - (optionally /<person>)');
  if (value.length === 0 || value.length > 64 * 1024) throw new MandateError('ERR_SECRET_VALUE', 'secret value must be 1 byte to 64 KiB');
  const at = now.toISOString();
  const sealed = seal(master, value, context(name));
  await secretsRepository(db).put({ name, sealed, master_key_id: master.id, created_at: at, updated_at: at });
  return (await listSecrets(db)).find((s) => s.name === name)!;
}

export async function listSecrets(db: Queryable): Promise<SecretMetadata[]> {
  return secretsRepository(db).list();
}

/**
 * A spec that names secrets which do not exist cannot work: refuse it when it is written,
 * naming what to store. Per-person references (`name/<sub>`) are filled per call and cannot be
 * checked for every person; a person without one is refused at the call (ERR_SECRET_NOT_FOUND).
 */
export async function checkSecretsExist(db: Queryable, refs: ReadonlyArray<{ name: string; perPerson: boolean; where: string }>): Promise<void> {
  const wanted = [...new Set(refs.filter((r) => !r.perPerson).map((r) => r.name))];
  if (wanted.length === 0) return;
  const found = await secretsRepository(db).existing(wanted);
  const missing = refs.filter((r) => !r.perPerson && !found.has(r.name));
  if (missing.length === 0) return;
  const names = [...new Set(missing.map((r) => r.name))];
  throw new MandateError('ERR_SECRET_MISSING', `no secret named ${names.join(', ')}: store it first with \`mandate secret set ${names[0]}\` (read from stdin)`, {
    details: missing.map((r) => ({ path: r.where, message: `{{secret:${r.name}}} does not exist` })),
  });
}

/**
 * Where sealed values are read from: the table, or a cache of sealed values kept current by the
 * change feed (`secret.changed`). Either way the value stays sealed until the call unseals it.
 */
export type SealedSecrets = (name: string) => Promise<string | undefined>;

export const sealedFrom =
  (db: Queryable): SealedSecrets =>
  async (name) =>
    (await secretsRepository(db).find(name))?.sealed;

/** The clear value, for injection only. Never log or return it. */
export async function revealSecret(source: Queryable | SealedSecrets, master: MasterKey, name: string): Promise<string> {
  const sealed = await (typeof source === 'function' ? source : sealedFrom(source))(name);
  if (sealed === undefined) throw refusal('ERR_SECRET_NOT_FOUND', `secret ${name} not found`);
  return unseal(master, sealed, context(name)).toString('utf8');
}

export async function deleteSecret(db: Queryable, name: string): Promise<void> {
  if (!(await secretsRepository(db).remove(name))) throw refusal('ERR_SECRET_NOT_FOUND', `secret ${name} not found`);
}

/** Re-seal every secret under a new master key (after a rotation); returns how many moved. */
export async function rewrapSecrets(db: Queryable, from: MasterKey, to: MasterKey, now: Date): Promise<number> {
  const secrets = secretsRepository(db);
  const rows = await secrets.all();
  let moved = 0;
  for (const row of rows) {
    if (sealedKeyId(row.sealed) === to.id) continue;
    const value = unseal(from, row.sealed, context(row.name));
    await secrets.reseal(row.name, seal(to, value, context(row.name)), to.id, now.toISOString());
    moved++;
  }
  return moved;
}

/**
 * Fill `{{secret:name}}` placeholders; `{{secret:name/<sub>}}` picks the per-person secret of
 * the mandate's person. Returns the filled text and the clear values used (to scrub later).
 */
export async function fillTemplate(
  db: Queryable | SealedSecrets,
  master: MasterKey,
  template: string,
  person: string | null,
): Promise<{ text: string; secrets: string[] }> {
  const secrets: string[] = [];
  let text = '';
  let last = 0;
  for (const match of template.matchAll(/\{\{secret:([A-Za-z0-9_.-]{1,100})(\/<sub>)?\}\}/g)) {
    if (match[2] && !person) throw new MandateError('ERR_SECRET_PERSON', 'this credential is per person and the mandate names none');
    const value = await revealSecret(db, master, match[2] ? `${match[1]}/${person}` : match[1]!);
    secrets.push(value);
    text += template.slice(last, match.index) + value;
    last = match.index! + match[0].length;
  }
  return { text: text + template.slice(last), secrets };
}
