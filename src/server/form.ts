import type { FastifyInstance } from 'fastify';

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
