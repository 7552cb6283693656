/**
 * Errors are data: every failure Mandate reports carries a stable `code` that callers switch on,
 * the HTTP status it maps to, and whether its message may be shown to the caller. Messages never
 * contain a token, key or secret; use a thumbprint or an HMAC instead.
 */
export interface ErrorOptions {
  status?: number;
  expose?: boolean;
  /** Field-level details (path + reason), shown to callers for validation failures. */
  details?: ReadonlyArray<{ path: string; message: string }>;
  cause?: unknown;
}

export class MandateError extends Error {
  readonly code: string;
  readonly status: number;
  readonly expose: boolean;
  readonly details: ReadonlyArray<{ path: string; message: string }> | undefined;

  constructor(code: string, message: string, options: ErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'MandateError';
    this.code = code;
    this.status = options.status ?? 500;
    this.expose = options.expose ?? this.status < 500;
    this.details = options.details;
  }
}

export const isMandateError = (e: unknown): e is MandateError =>
  e instanceof Error && typeof (e as { code?: unknown }).code === 'string' && 'status' in e && 'expose' in e;

export const badRequest = (code: string, message: string, details?: ErrorOptions['details']) =>
  new MandateError(code, message, { status: 400, details });
export const notFound = (code: string, message: string) => new MandateError(code, message, { status: 404 });
export const conflict = (code: string, message: string) => new MandateError(code, message, { status: 409 });
