import { Ajv, type ValidateFunction } from 'ajv';
import { MandateError } from '../errors.ts';
import type { Pin } from './pins.ts';

/**
 * Arguments are validated against the PINNED input schema before anything is forwarded: what the
 * upstream says now does not matter, what was approved does. Compiled once per definition hash.
 */
const ajv = new Ajv({ strict: false, allErrors: false, validateSchema: false });
const compiled = new Map<string, ValidateFunction>();

export function checkArguments(pin: Pin, args: unknown): void {
  let validate = compiled.get(pin.hash);
  if (!validate) {
    try {
      validate = ajv.compile(pin.definition.inputSchema as object);
    } catch {
      throw new MandateError('ERR_TOOL_SCHEMA', `the pinned input schema of ${pin.tool} cannot be used`);
    }
    if (compiled.size > 4096) compiled.clear();
    compiled.set(pin.hash, validate);
  }
  if (!validate(args ?? {})) {
    const first = validate.errors?.[0];
    const where = first?.instancePath || '(arguments)';
    throw new MandateError('ERR_TOOL_ARGUMENTS', `arguments do not match the input schema of ${pin.tool}: ${where} ${first?.message ?? 'invalid'}`);
  }
}
