import { describe, expect, it } from 'vitest';
import { PresentedTokens, type Remembered } from './presented-tokens.ts';

const EXP = 1_000;
const at = (seconds: number) => new Date(seconds * 1000);
const feed = () => ({ synchronized: true, epoch: 0 });

/** A verification that counts how often it ran. */
function verifier(entry: Omit<Remembered<string>, 'value'> = { exp: EXP, kid: 'k1', instance: 'i1', agent: 'a1' }) {
  const counter = { runs: 0 };
  const verify = async () => ({ ...entry, value: `v${++counter.runs}` });
  return { counter, verify };
}

describe('tokens presented at the token endpoint, verified once', () => {
  it('verifies a token once and answers from memory until the second before its exp', async () => {
    const tokens = new PresentedTokens(feed());
    const { counter, verify } = verifier();
    expect(await tokens.verify('actor', 'token', at(10), verify)).toBe('v1');
    expect(await tokens.verify('actor', 'token', at(EXP - 0.001), verify)).toBe('v1');
    expect(counter.runs).toBe(1);
  });

  it('verifies again at exp exactly, and forgets a token that has expired', async () => {
    const tokens = new PresentedTokens(feed());
    let runs = 0;
    const verify = async () => {
      runs++;
      return { value: 'v', exp: EXP, kid: 'k1' };
    };
    await tokens.verify('actor', 'token', at(10), verify);
    await tokens.verify('actor', 'token', at(EXP), verify);
    expect(runs).toBe(2);
    expect(tokens.size).toBe(0);
  });

  it('keeps tokens apart by what they were verified as', async () => {
    const tokens = new PresentedTokens(feed());
    const { counter, verify } = verifier();
    await tokens.verify('actor', 'token', at(10), verify);
    expect(await tokens.verify('person', 'token', at(10), verify)).toBe('v2');
    expect(counter.runs).toBe(2);
  });

  it.each([
    ['its instance is revoked', { instance: 'i1' }],
    ['its agent changes (suspended, retired)', { agent: 'a1' }],
    ['its signing key is withdrawn', { kid: 'k1' }],
  ] as const)('forgets a token at once when %s', async (_, stale) => {
    const tokens = new PresentedTokens(feed());
    const { counter, verify } = verifier();
    await tokens.verify('actor', 'token', at(10), verify);
    tokens.forget(stale);
    expect(await tokens.verify('actor', 'token', at(11), verify)).toBe('v2');
    expect(counter.runs).toBe(2);
  });

  it('keeps what other instances, agents and keys established', async () => {
    const tokens = new PresentedTokens(feed());
    const { counter, verify } = verifier();
    await tokens.verify('actor', 'token', at(10), verify);
    for (const stale of [{ instance: 'i2' }, { agent: 'a2' }, { kid: 'k2' }]) tokens.forget(stale);
    await tokens.verify('actor', 'token', at(11), verify);
    expect(counter.runs).toBe(1);
  });

  it('does not keep a verification that overlapped a change', async () => {
    const state = feed();
    const tokens = new PresentedTokens(state);
    let runs = 0;
    const verify = async () => {
      if (++runs === 1) state.epoch++; // the instance is revoked while its row is being read
      return { value: `v${runs}`, exp: EXP, kid: 'k1' };
    };
    await tokens.verify('actor', 'token', at(10), verify);
    expect(await tokens.verify('actor', 'token', at(10), verify)).toBe('v2');
  });

  it('answers nothing from memory while the replica is not synchronized', async () => {
    const state = feed();
    const tokens = new PresentedTokens(state);
    const { counter, verify } = verifier();
    await tokens.verify('actor', 'token', at(10), verify);
    state.synchronized = false;
    await tokens.verify('actor', 'token', at(10), verify);
    expect(counter.runs).toBe(2);
    expect(tokens.size).toBe(1);
  });

  it('never remembers a verification that says it must not be', async () => {
    const tokens = new PresentedTokens(feed());
    let runs = 0;
    const verify = async () => ({ value: `v${++runs}` });
    await tokens.verify('person', 'token', at(10), verify);
    await tokens.verify('person', 'token', at(10), verify);
    expect(runs).toBe(2);
  });
});
