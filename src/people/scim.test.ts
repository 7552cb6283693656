import { describe, expect, it } from 'vitest';
import { applyPatch, columnsOf, ENTERPRISE_SCHEMA, parseFilter, parseUser, PATCH_SCHEMA, USER_SCHEMA } from './scim.ts';

const user = parseUser({ schemas: [USER_SCHEMA], userName: 'kim@example.com', emails: [{ value: 'Kim@Example.com', type: 'work', primary: true }], name: { givenName: 'Kim', familyName: 'Lee' }, password: 'p4ss', active: true });
const patch = (...Operations: object[]) => ({ schemas: [PATCH_SCHEMA], Operations });

describe('SCIM User resources (RFC 7643)', () => {
  it('never keeps the write-only password, id or meta the client sent', () => {
    expect(parseUser({ schemas: [USER_SCHEMA], userName: 'a', id: 'mine', meta: {}, password: 'x' })).toEqual({ schemas: [USER_SCHEMA], userName: 'a' });
    expect(JSON.stringify(user)).not.toContain('p4ss');
  });

  it('fills the columns: primary email lower-cased, display name from the name, manager from the enterprise extension', () => {
    const withManager = parseUser({ ...user, schemas: [USER_SCHEMA, ENTERPRISE_SCHEMA], [ENTERPRISE_SCHEMA]: { manager: { value: 'm-1' } } });
    expect(columnsOf(withManager)).toMatchObject({ user_name: 'kim@example.com', email: 'kim@example.com', display_name: 'Kim Lee', manager: 'm-1', active: 1 });
  });

  it('refuses a resource without the User schema or a userName', () => {
    expect(() => parseUser({ userName: 'a' })).toThrow(expect.objectContaining({ code: 'ERR_SCIM_INVALID_VALUE' }));
    expect(() => parseUser({ schemas: [USER_SCHEMA] })).toThrow(expect.objectContaining({ code: 'ERR_SCIM_INVALID_VALUE' }));
  });
});

describe('SCIM filters and PATCH (RFC 7644)', () => {
  it('reads the equality filters identity providers send, and refuses the rest', () => {
    expect(parseFilter('userName eq "kim@example.com"')).toEqual({ attribute: 'userName', value: 'kim@example.com' });
    expect(parseFilter('USERNAME EQ "a\\"b"')).toEqual({ attribute: 'userName', value: 'a"b' });
    expect(parseFilter('externalId eq "00u1"')).toEqual({ attribute: 'externalId', value: '00u1' });
    expect(parseFilter(undefined)).toBeUndefined();
    for (const bad of ['userName sw "k"', 'userName eq "a" or userName eq "b"', 'emails[type eq "work"]']) {
      expect(() => parseFilter(bad)).toThrow(expect.objectContaining({ code: 'ERR_SCIM_INVALID_FILTER' }));
    }
  });

  it("applies Okta's path-less replace and Entra's capitalised ops with string booleans", () => {
    expect(applyPatch(user, patch({ op: 'replace', value: { active: false } })).active).toBe(false);
    expect(applyPatch(user, patch({ op: 'Replace', path: 'active', value: 'False' })).active).toBe(false);
    expect(applyPatch(user, patch({ op: 'Replace', path: 'active', value: 'True' })).active).toBe(true);
  });

  it('sets nested, filtered and extension paths, and removes attributes', () => {
    const next = applyPatch(
      user,
      patch(
        { op: 'Replace', path: 'name.familyName', value: 'Park' },
        { op: 'Replace', path: 'emails[type eq "work"].value', value: 'kim.park@example.com' },
        { op: 'Add', path: `${ENTERPRISE_SCHEMA}:manager`, value: 'm-2' },
        { op: 'Add', path: 'title', value: 'Engineer' },
      ),
    );
    expect(columnsOf(next)).toMatchObject({ email: 'kim.park@example.com', manager: 'm-2', display_name: 'Kim Park' });
    expect(next.title).toBe('Engineer');
    expect(applyPatch(next, patch({ op: 'remove', path: 'title' })).title).toBeUndefined();
    expect(columnsOf(applyPatch(next, patch({ op: 'remove', path: `${ENTERPRISE_SCHEMA}:manager` }))).manager).toBeNull();
  });

  it('refuses a body that is not a PatchOp, an unknown path shape, and a patch that breaks the resource', () => {
    expect(() => applyPatch(user, { Operations: [] })).toThrow(expect.objectContaining({ code: 'ERR_SCIM_INVALID_SYNTAX' }));
    expect(() => applyPatch(user, patch({ op: 'move', path: 'title' }))).toThrow(expect.objectContaining({ code: 'ERR_SCIM_INVALID_SYNTAX' }));
    expect(() => applyPatch(user, patch({ op: 'replace', path: 'a.b.c', value: 1 }))).toThrow(expect.objectContaining({ code: 'ERR_SCIM_INVALID_PATH' }));
    expect(() => applyPatch(user, patch({ op: 'remove', path: 'userName' }))).toThrow(expect.objectContaining({ code: 'ERR_SCIM_INVALID_VALUE' }));
    // Names outside the attribute grammar never reach an object key (no prototype pollution).
    expect(() => applyPatch(user, patch({ op: 'replace', path: '__proto__', value: { polluted: 1 } }))).toThrow(expect.objectContaining({ code: 'ERR_SCIM_INVALID_PATH' }));
    expect(() => applyPatch(user, patch({ op: 'replace', value: JSON.parse('{"__proto__": {"polluted": 1}}') }))).toThrow(expect.objectContaining({ code: 'ERR_SCIM_INVALID_PATH' }));
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
