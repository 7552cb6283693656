import { describe, expect, it } from 'vitest';
import { allows, covers, notCovered, parseGrant } from './roles.ts';

const g = (text: string) => parseGrant(text)!;

describe('operator roles', () => {
  it('reads a role with an optional environment and refuses anything else', () => {
    expect(parseGrant('approver:prod')).toEqual({ role: 'approver', environment: 'prod' });
    expect(parseGrant('auditor')).toEqual({ role: 'auditor' });
    for (const bad of ['root', 'approver:moon', 'approver:', ' admin', 'admin:prod:x']) expect(parseGrant(bad)).toBeUndefined();
  });

  it('lets nobody grant a role they do not hold, nor outside their environment', () => {
    expect(covers(g('admin'), g('security:dev'))).toBe(true);
    expect(covers(g('admin:prod'), g('approver:prod'))).toBe(true);
    expect(covers(g('admin:prod'), g('approver'))).toBe(false);
    expect(covers(g('approver'), g('approver:prod'))).toBe(true);
    expect(covers(g('approver:prod'), g('approver:dev'))).toBe(false);
    expect(covers(g('approver:prod'), g('auditor:prod'))).toBe(false);
    expect(notCovered([g('approver:prod'), g('auditor')], [g('auditor:dev'), g('approver')])).toEqual(g('approver'));
  });

  it('lets a scoped grant act only in its environment, and an owner only on their agents', () => {
    const prodAgent = { environment: 'prod', owner: 'olga@example.com' };
    expect(allows([g('approver:prod')], ['approver'], prodAgent, [])).toBe(true);
    expect(allows([g('approver:dev')], ['approver'], prodAgent, [])).toBe(false);
    expect(allows([g('approver:prod')], ['approver'], 'shared', [])).toBe(false);
    expect(allows([g('owner')], ['owner'], prodAgent, ['olga', 'Olga@example.com'])).toBe(true);
    expect(allows([g('owner')], ['owner'], prodAgent, ['pat'])).toBe(false);
    expect(allows([g('owner')], ['owner'], { environment: 'prod', owner: null }, ['olga'])).toBe(false);
    expect(allows([g('security')], ['admin', 'security'], 'shared', [])).toBe(true);
  });
});
