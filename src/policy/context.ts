/**
 * The Cedar context of a request (the `RequestContext` type of the schema): the runtime facts of one
 * call. Optional fields are left out, not nulled, so policies test them with `context has …`.
 */
import type { Context } from '@cedar-policy/cedar-wasm/nodejs';
import { argsValue } from './args-context.ts';
import type { ArgsRecord } from './args-schema.ts';
import type { ParsedRequest } from './request.ts';
import { uid } from './uid.ts';

/** UTC wall clock: hour, minute and ISO weekday (1 = Monday .. 7 = Sunday). */
export const timeOfDay = (at: Date) => ({
  hour: at.getUTCHours(),
  minute: at.getUTCMinutes(),
  weekday: ((at.getUTCDay() + 6) % 7) + 1,
});

export function requestContext(request: ParsedRequest, now: () => Date, args?: ArgsRecord): Context {
  const c = request.context;
  const { cost = 0, classification } = request.resource;
  return {
    scope: c.scope,
    ...(c.task ? { task: c.task } : {}),
    ...(request.person === null ? {} : { person: { __entity: uid('User', request.person) } }),
    delegation: { depth: c.delegation.depth, chain: c.delegation.chain },
    environment: c.environment,
    ...(c.budget
      ? {
          budget: {
            remaining: c.budget.remaining,
            percent: Math.floor(c.budget.percent),
          },
        }
      : {}),
    cost,
    risk: c.risk,
    approval: c.approval,
    ...(classification === undefined ? {} : { classification }),
    time: timeOfDay(c.time === undefined ? now() : new Date(c.time)),
    ...(c.trace ? { trace: c.trace } : {}),
    ...(c.args ? { args: args && args.size > 0 ? argsValue(c.args, args) : {} } : {}),
  };
}
