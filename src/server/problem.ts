import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { CATALOGUE } from '../errors/catalogue.ts';
import { type ErrorCode, isMandateError } from '../errors.ts';
import { isStoreUnavailable, storeUnavailable } from '../store/errors.ts';

/**
 * RFC 9457 problem details for every admin API error, with Mandate's stable `code`. Internal
 * errors are logged and answered with a generic message: no stack traces reach clients.
 */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
  errors?: ReadonlyArray<{ path: string; message: string }>;
}

const titles: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** The problem for a catalogued code; its status is the catalogue's. */
export function problem(code: ErrorCode, detail: string, errors?: Problem['errors']): Problem {
  const status = CATALOGUE[code].status;
  return {
    type: `urn:mandate:error:${code}`,
    title: titles[status] ?? 'Error',
    status,
    detail,
    code,
    ...(errors && errors.length > 0 ? { errors } : {}),
  };
}

/** Map fastify's own errors (body limits, bad JSON, media types) to stable codes. */
const fastifyCodes: Record<string, { code: ErrorCode; detail: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { code: 'ERR_BODY_TOO_LARGE', detail: 'request body exceeds 1 MiB' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { code: 'ERR_MEDIA_TYPE', detail: 'unsupported content type' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { code: 'ERR_BODY_EMPTY', detail: 'request body is empty' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { code: 'ERR_BODY_LENGTH', detail: 'invalid content length' },
};

export function toProblem(thrown: unknown): Problem {
  const error = isStoreUnavailable(thrown) ? storeUnavailable() : thrown;
  if (isMandateError(error) && error.expose) {
    return problem(error.code, error.message, error.details);
  }
  const fe = error as Partial<FastifyError>;
  const known = fe.code ? fastifyCodes[fe.code] : undefined;
  if (known) return problem(known.code, known.detail);
  if (error instanceof SyntaxError || fe.code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
    return problem('ERR_MALFORMED_JSON', `malformed JSON body: ${(error as Error).message}`);
  }
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return { ...problem('ERR_BAD_REQUEST', fe.message ?? 'bad request'), status: fe.statusCode };
  }
  return problem('ERR_INTERNAL', 'internal error');
}

export function sendProblem(reply: FastifyReply, p: Problem): FastifyReply {
  return reply.status(p.status).type('application/problem+json').send(p);
}

export function errorHandler(error: unknown, request: FastifyRequest, reply: FastifyReply) {
  const p = toProblem(error);
  if (p.code === 'ERR_STORE_UNAVAILABLE') request.log.warn({ url: request.url.split('?')[0] }, 'request refused: the database is not reachable');
  else if (p.status >= 500) request.log.error({ err: error }, 'request failed');
  return sendProblem(reply, p);
}
