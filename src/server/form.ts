import type { FastifyInstance } from 'fastify';
import { jsonTooDeep, nestsTooDeep } from '../json-depth.ts';

/**
 * application/json bodies: fastify's own parser (prototype poisoning refused), after a scan that
 * refuses nesting past `MAX_JSON_DEPTH` with a 400 before anything recurses into the value.
 */
export function registerJsonParser(app: FastifyInstance) {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (nestsTooDeep(body as string)) return done(jsonTooDeep(), undefined);
    return parse(request, body as string, done);
  });
}

/** application/x-www-form-urlencoded bodies (OAuth endpoints); repeated names become arrays (RFC 8707 `resource`). */
export function registerFormParser(app: FastifyInstance) {
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
    const form: Record<string, string | string[]> = Object.create(null);
    for (const [name, value] of new URLSearchParams(body as string)) {
      const existing = form[name];
      form[name] = existing === undefined ? value : Array.isArray(existing) ? [...existing, value] : [existing, value];
    }
    done(null, form);
  });
}
