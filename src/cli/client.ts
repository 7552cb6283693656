import { noConfigHint, resolveTarget } from './cli-config.ts';
import { CliError } from './errors.ts';

export { CliError };

export interface ApiClient {
  addr: string;
  request<T = unknown>(method: string, path: string, body?: unknown): Promise<T>;
}

/** HTTP client for the admin API; errors carry the server's problem detail and code. */
export function apiClient(flags: { addr?: string | undefined; token?: string | undefined } = {}): ApiClient {
  const target = resolveTarget(flags);
  const { addr, token } = target;
  return {
    addr,
    async request<T>(method: string, path: string, body?: unknown): Promise<T> {
      const headers: Record<string, string> = { accept: 'application/json' };
      if (token) headers.authorization = `Bearer ${token}`;
      if (body !== undefined) headers['content-type'] = 'application/json';
      let response: Response;
      try {
        response = await fetch(`${addr}${path}`, {
          method,
          headers,
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
      } catch (error) {
        const reason = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
        throw new CliError(`cannot reach Mandate at ${addr} (${reason}); is \`mandate serve\` running?`, 1, noConfigHint(target));
      }
      const text = await response.text();
      const payload = text ? safeJson(text) : undefined;
      if (!response.ok) {
        const p = (payload ?? {}) as {
          detail?: string;
          code?: string;
          errors?: Array<{ path: string; message: string }>;
        };
        const details = (p.errors ?? []).map((e) => `${e.path || '(body)'}: ${e.message}`);
        if (response.status === 401 && !token) details.push(...noConfigHint(target));
        throw new CliError(
          `${p.detail ?? response.statusText} (${p.code ?? `HTTP ${response.status}`})`,
          1,
          details,
        );
      }
      return payload as T;
    },
  };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
