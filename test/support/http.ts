/** A small JSON HTTP client for tests that call services over real HTTP. */
import { GATEWAY_HEADERS } from '../../lib/routes/headers';

/** A response with its parsed JSON body. */
export interface JsonResponse<T = Record<string, unknown>> {
  readonly status: number;
  readonly headers: Headers;
  readonly body: T;
}

/** Identity headers as the gateway would set them. */
export function asUser(userId: string, scopes: string): Record<string, string> {
  return { [GATEWAY_HEADERS.userId]: userId, [GATEWAY_HEADERS.userScopes]: scopes };
}

/** Sends a request; a JSON body is serialized unless it is already a string. */
export async function request<T = Record<string, unknown>>(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: unknown } = {},
): Promise<JsonResponse<T>> {
  const hasBody = options.body !== undefined;
  const response = await fetch(url, {
    method: options.method ?? 'GET',
    headers: { ...(hasBody && { 'content-type': 'application/json' }), ...options.headers },
    ...(hasBody && { body: typeof options.body === 'string' ? options.body : JSON.stringify(options.body) }),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: (text === '' ? {} : JSON.parse(text)) as T };
}
