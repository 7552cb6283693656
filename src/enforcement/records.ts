import type { Refusal } from '../governance/governed-call.ts';
import { recordBreach, recordsOf } from '../tokens/records.ts';
import type { CallContext } from './call-context.ts';

/**
 * RFC 9396 record constraints (`mandate_record`) against the call's arguments, whichever
 * enforcement point supplied them → ERR_RECORD_CONSTRAINT naming the field (never its value).
 * A mandate without constraints passes every call; under constraints, arguments that cannot be
 * read cannot be shown to be within them, so the call is refused (fail closed).
 */
export async function records(call: CallContext): Promise<Refusal | null> {
  const constraints = recordsOf(call.request.principal.claims);
  if (!constraints) return null;
  const { callArguments, callArgumentsUnreadable } = call.request;
  const breach = callArgumentsUnreadable
    ? { field: '(arguments)', reason: `cannot be read (${callArgumentsUnreadable})` }
    : recordBreach(constraints, callArguments ?? {});
  const fields = Object.keys(constraints.fields).sort().join(', ');
  call.recordNote = breach ? `${breach.field} ${breach.reason}` : `${fields} within`;
  if (!breach) return null;
  return { code: 'ERR_RECORD_CONSTRAINT', message: `argument ${breach.field} ${breach.reason}: the mandate is limited to records by ${fields}`, field: breach.field };
}
