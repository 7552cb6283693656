import { describe, expect, it } from 'vitest';
import { loadSchema } from './schema.ts';

describe('the Mandate Cedar schema', () => {
  const schema = loadSchema();

  it('declares the actions an enforcement point can ask about', () => {
    expect([...schema.actions.keys()].sort()).toEqual([
      'a2a:message/send',
      'a2a:message/stream',
      'a2a:tasks/cancel',
      'a2a:tasks/get',
      'a2a:tasks/pushNotificationConfig/delete',
      'a2a:tasks/pushNotificationConfig/get',
      'a2a:tasks/pushNotificationConfig/list',
      'a2a:tasks/pushNotificationConfig/set',
      'a2a:tasks/resubscribe',
      'delegate',
      'http:request',
      'resources/read',
      'token:exchange',
      'tools/call',
      'tools/list',
    ]);
  });

  it('puts tool calls, HTTP requests and A2A work in the "call" group, MCP actions in "mcp", A2A methods in "a2a"', () => {
    expect(schema.actions.get('tools/call')?.groups).toEqual(['call', 'mcp']);
    expect([...(schema.covers.get('call') ?? [])].sort()).toEqual(['a2a:message/send', 'a2a:message/stream', 'a2a:tasks/cancel', 'http:request', 'tools/call']);
    expect(schema.covers.get('a2a')?.length).toBe(9);
    expect(schema.actions.get('a2a:tasks/get')?.resourceTypes).toEqual(['Mandate::Peer']);
    expect([...(schema.covers.get('mcp') ?? [])].sort()).toEqual([
      'resources/read',
      'tools/call',
      'tools/list',
    ]);
  });

  it('knows which resource types each action applies to', () => {
    expect(schema.actions.get('tools/call')?.resourceTypes).toEqual(['Mandate::Tool']);
    expect(schema.actions.get('token:exchange')?.resourceTypes).toEqual([
      'Mandate::Server',
      'Mandate::Connection',
    ]);
  });

  it('lists the attributes each entity type declares', () => {
    expect(schema.attributes.get('Mandate::Instance')).toEqual(['environment', 'owner', 'toolset']);
    expect(schema.attributes.get('Mandate::Tool')).toEqual(['highImpact']);
  });

  it('refuses a schema that does not parse, with a stable code', () => {
    expect(() => loadSchema('namespace Mandate { entity }')).toThrow(
      expect.objectContaining({ code: 'ERR_SCHEMA_INVALID' }),
    );
  });
});
