import { describe, expect, it } from 'vitest';
import { loadSchema } from './schema.ts';

describe('the Mandate Cedar schema', () => {
  const schema = loadSchema();

  it('declares the actions an enforcement point can ask about', () => {
    expect([...schema.actions.keys()].sort()).toEqual([
      'delegate',
      'http:request',
      'resources/read',
      'token:exchange',
      'tools/call',
      'tools/list',
    ]);
  });

  it('puts tool calls and HTTP requests in the "call" group and MCP actions in the "mcp" group', () => {
    expect(schema.actions.get('tools/call')?.groups).toEqual(['call', 'mcp']);
    expect([...(schema.covers.get('call') ?? [])].sort()).toEqual(['http:request', 'tools/call']);
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
