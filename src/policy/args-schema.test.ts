import { describe, expect, it } from 'vitest';
import { argsValue } from './args-context.ts';
import { argsFragment } from './args-schema.ts';
import { Authorizer } from './authorizer.ts';
import { requestWith } from './example-request.ts';
import { explain } from './explain.ts';
import { loadPolicySet } from './policy-set.ts';
import { schemaWithArgs } from './schema.ts';

const refund = {
  type: 'object',
  properties: {
    customer_id: { type: 'string' },
    amount: { type: 'integer' },
    rate: { type: 'number' },
    urgent: { type: 'boolean' },
    tags: { type: 'array', items: { type: 'string' } },
    filter: { type: 'object', properties: { status: { enum: ['open', 'closed'] } } },
    either: { anyOf: [{ type: 'string' }, { type: 'integer' }] },
    labels: { type: 'object', additionalProperties: { type: 'string' } },
    'bad name': { type: 'string' },
  },
};
const lookup = { type: 'object', properties: { customer_id: { type: 'string' }, filter: { type: 'object', properties: { since: { type: 'string' } } }, urgent: { type: 'string' } } };
const fragment = argsFragment([
  { name: 'shop/refund', schema: refund },
  { name: 'crm/lookup', schema: lookup },
]);

describe('context.args typed from JSON Schemas', () => {
  it('types every field Cedar can read, merges sources, and notes what it leaves out', () => {
    expect(fragment.text).toBe(
      'type Args = { "amount"?: Long, "customer_id"?: String, "filter"?: { "since"?: String, "status"?: String }, "rate"?: __cedar::decimal, "tags"?: Set<String> };',
    );
    expect(fragment.notes).toEqual([
      'shop/refund either: anyOf is not supported',
      'shop/refund labels: is an object without properties (a map)',
      'shop/refund bad name: is not a name Cedar policies can read (letters, digits, _ and -)',
      'shop/refund urgent: is String in one source and Bool in another',
    ]);
    // The same sources in another order give the same text (a stable schema digest).
    expect(argsFragment([{ name: 'crm/lookup', schema: lookup }, { name: 'shop/refund', schema: refund }]).text).toBe(fragment.text);
  });

  it('hands Cedar only declared fields whose value fits, never rounding a decimal', () => {
    expect(argsValue({ customer_id: '42', amount: '150', rate: 0.25, tags: ['a', 'b'], filter: { status: 'open', extra: 1 }, other: 'x' }, fragment.attrs)).toEqual({
      customer_id: '42',
      amount: 150,
      rate: { __extn: { fn: 'decimal', arg: '0.25' } },
      tags: ['a', 'b'],
      filter: { status: 'open' },
    });
    expect(argsValue({ customer_id: ['42', '43'], amount: 1.5, rate: 0.12345, tags: ['a', 1] }, fragment.attrs)).toEqual({});
  });

  describe.each([{ slicing: true }, { slicing: false }])('a policy on context.args decides (slicing: $slicing)', (options) => {
    const schema = schemaWithArgs(fragment);
    const set = loadPolicySet(
      [
        { file: 'permit.cedar', text: '@id("calls")\npermit (principal, action == Mandate::Action::"tools/call", resource);\n' },
        {
          file: 'refunds.cedar',
          text: '@id("refund-limit")\n@reason("refunds above 100 need another way")\nforbid (principal, action, resource) when { context has args && context.args has amount && context.args.amount > 100 };\n',
        },
        { file: 'own.cedar', text: '@id("own-customer")\nforbid (principal, action, resource) when { context has args && context.args has customer_id && context has task && context.args.customer_id != context.task };\n' },
      ],
      { schema },
    );
    const authorizer = new Authorizer(set, options);
    const call = (args: Record<string, unknown>) => authorizer.decide(requestWith({ context: { task: '42', args } }));

    it('allows within the limit and refuses above it, naming the policy', () => {
      expect(call({ customer_id: '42', amount: 100 })).toMatchObject({ decision: 'allow' });
      expect(call({ customer_id: '42', amount: 101 })).toMatchObject({ decision: 'deny', policies: ['refund-limit'], obligations: { reasons: ['refunds above 100 need another way'] } });
      expect(call({ customer_id: '43', amount: 1 })).toMatchObject({ decision: 'deny', policies: ['own-customer'] });
    });

    it('keeps the version of the same files whatever the argument types', () => {
      const plain = loadPolicySet(set.sources.filter((s) => s.file === 'permit.cedar'));
      expect(loadPolicySet(plain.sources, { schema }).version).toBe(plain.version);
    });
  });

  it('tells enforcement points whether any policy reads the arguments at all', () => {
    const plain = loadPolicySet([{ file: 'p.cedar', text: 'permit (principal, action, resource) when { context.risk < 50 };' }]);
    const reading = loadPolicySet([{ file: 'p.cedar', text: 'permit (principal, action, resource) when { context has args && context.args has amount && context.args.amount < 5 };' }], { schema: schemaWithArgs(fragment) });
    expect([new Authorizer(plain).readsArguments, new Authorizer(reading).readsArguments]).toEqual([false, true]);
  });

  it('refuses a policy reading an argument no source declares', () => {
    expect(() => loadPolicySet([{ file: 'p.cedar', text: 'forbid (principal, action, resource) when { context has args && context.args.nothing == 1 };' }], { schema: schemaWithArgs(fragment) })).toThrow(/nothing/);
  });

  it('explains which argument decided, with the value the call carried', () => {
    const schema = schemaWithArgs(fragment);
    const set = loadPolicySet(
      [
        { file: 'permit.cedar', text: '@id("calls")\npermit (principal, action == Mandate::Action::"tools/call", resource);\n' },
        { file: 'refunds.cedar', text: '@id("refund-limit")\nforbid (principal, action, resource) when { context has args && context.args has amount && context.args.amount > 100 };\n' },
      ],
      { schema },
    );
    const explanation = explain(set, requestWith({ context: { args: { amount: 150 } } }));
    expect(explanation.decision.policies).toEqual(['refund-limit']);
    expect(explanation.policies.find((p) => p.policy.id === 'refund-limit')?.args).toEqual([{ path: 'amount', value: '150' }]);
    expect(explanation.text).toContain('reads context.args.amount = 150');
  });
});
