import { CATALOGUE, type ErrorCode } from './errors/catalogue.ts';

export type { ErrorCode } from './errors/catalogue.ts';

/**
 * Errors are data: every failure Mandate reports carries a stable `code` from the catalogue
 * (src/errors/catalogue.ts), the HTTP status the catalogue gives it, and whether its message may
 * be shown to the caller. Messages never contain a token, key or secret; use a thumbprint or an
 * HMAC instead.
 */
export interface ErrorOptions {
  expose?: boolean;
  /** Field-level details (path + reason), shown to callers for validation failures. */
  details?: ReadonlyArray<{ path: string; message: string }>;
  cause?: unknown;
}

export class MandateError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly expose: boolean;
  readonly details: ReadonlyArray<{ path: string; message: string }> | undefined;

  constructor(code: ErrorCode, message: string, options: ErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'MandateError';
    this.code = code;
    this.status = CATALOGUE[code].status;
    this.expose = options.expose ?? this.status < 500;
    this.details = options.details;
  }
}

export const isMandateError = (e: unknown): e is MandateError =>
  e instanceof Error && typeof (e as { code?: unknown }).code === 'string' && 'status' in e && 'expose' in e;

/** A refusal with field-level details (validation failures). */
export const refusal = (code: ErrorCode, message: string, details?: ErrorOptions['details']) => new MandateError(code, message, { details });
