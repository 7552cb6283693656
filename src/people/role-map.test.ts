import { describe, expect, it } from 'vitest';
import { grantsForGroups, parseRoleMap } from './role-map.ts';

describe('the map from identity provider groups to Mandate roles', () => {
  const map = parseRoleMap('mandate-approvers=approver:prod, mandate-approvers=auditor,mandate-admins=admin,mandate-approvers=approver:prod');

  it('gives each group its grants, once each', () => {
    expect(grantsForGroups(map, ['mandate-approvers', 'staff'])).toEqual([{ role: 'approver', environment: 'prod' }, { role: 'auditor' }]);
    expect(grantsForGroups(map, ['mandate-admins', 'mandate-approvers']).map((g) => g.role)).toEqual(['approver', 'auditor', 'admin']);
  });

  it('gives nothing for groups it does not name, nor for a name differing in case', () => {
    expect(grantsForGroups(map, ['staff', 'Mandate-Admins'])).toEqual([]);
    expect(grantsForGroups(map, [])).toEqual([]);
  });

  it.each(['mandate-approvers', 'g=root', 'g=approver:moon', '=admin', ' , '])('refuses %j at start', (text) => {
    expect(() => parseRoleMap(text)).toThrow(/MANDATE_SSO_ROLE_MAP/);
  });
});
