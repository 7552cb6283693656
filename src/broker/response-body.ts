// RFC 9110 §8.4 (content codings) — an upstream body made safe to hand to the agent
import zlib from 'node:zlib';
import { scrubSecrets } from '../audit/redact.ts';
import { upstreamError } from './forward.ts';

/**
 * The broker asks for `identity` but decodes gzip, deflate, br and zstd when an upstream sends
 * them anyway (within the size limit), since only a decoded body can be scrubbed. Text bodies
 * (valid UTF-8 of a textual media type, or of none) have every form of the call's secrets replaced
 * with `[REDACTED]`. Binary bodies are passed only when they contain no form of a secret at all:
 * rewriting bytes would corrupt them, and leaking would be worse, so such a body is refused.
 */
const TEXTUAL = /^(?:text\/|application\/(?:[\w.+-]+\+)?(?:json|xml|javascript|ecmascript|x-www-form-urlencoded|graphql|yaml|x-yaml|x-ndjson|problem\+json)\b)/i;

export function decodeContent(body: Buffer, encoding: string | undefined, limit: number): Buffer {
  const coding = (encoding ?? 'identity').trim().toLowerCase();
  if (coding === 'identity' || coding === '' || body.length === 0) return body;
  const options = { maxOutputLength: limit };
  try {
    if (coding === 'gzip' || coding === 'x-gzip') return zlib.gunzipSync(body, options);
    if (coding === 'deflate') return zlib.inflateSync(body, options);
    if (coding === 'br') return zlib.brotliDecompressSync(body, options);
    if (coding === 'zstd' && 'zstdDecompressSync' in zlib) return (zlib as unknown as { zstdDecompressSync: typeof zlib.gunzipSync }).zstdDecompressSync(body, options);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw upstreamError('ERR_UPSTREAM_TOO_LARGE', `the decoded upstream response is larger than the connection's limit of ${limit} bytes`);
    }
    throw upstreamError('ERR_UPSTREAM_ENCODING', `the upstream sent a corrupt ${coding} body`);
  }
  throw upstreamError('ERR_UPSTREAM_ENCODING', `the upstream sent a body in an unsupported content coding (${coding.slice(0, 40)})`);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function scrubBody(body: Buffer, contentType: string | undefined, secrets: readonly string[]): Buffer {
  if (body.length === 0 || secrets.length === 0) return body;
  if (contentType === undefined || TEXTUAL.test(contentType)) {
    let text: string | undefined;
    try {
      text = utf8.decode(body);
    } catch {
      text = undefined;
    }
    if (text !== undefined) {
      const scrubbed = scrubSecrets(text, secrets);
      return scrubbed === text ? body : Buffer.from(scrubbed, 'utf8');
    }
  }
  // Byte-for-byte view of the body; a secret's UTF-8 bytes read the same way.
  const bytes = body.toString('latin1');
  const forms = secrets.map((s) => Buffer.from(s, 'utf8').toString('latin1'));
  if (scrubSecrets(bytes, forms) !== bytes) {
    throw upstreamError('ERR_UPSTREAM_SECRET_IN_BODY', 'the upstream returned a binary body that contains the connection credential; it is withheld');
  }
  return body;
}
