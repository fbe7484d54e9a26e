/**
 * The headers of an HTTP_PROXY hop: the client's headers go on to the service (Authorization too, as
 * API Gateway passes it), minus the hop-by-hop ones, with the identity headers set from the request
 * and the authorizer, replacing whatever the client sent under those names. Pure.
 */
import { GATEWAY_HEADERS } from '../../lib/routes/headers';

/** Where a client sends its API key: API Gateway's `HEADER` key source. */
export const API_KEY_HEADER = 'x-api-key';

/** Headers, lower-case names, each with every value it had. */
export type HeaderMap = Record<string, string[]>;

// RFC 9110 section 7.6.1: meant for one connection, never forwarded. Host and the length are the next hop's.
const NOT_FORWARDED = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'content-length',
  // The gateway has read the whole body already; a service must not wait to be told to send it.
  'expect',
]);

/** Who is calling, as the gateway passes it on. */
export interface ForwardedIdentity {
  readonly requestId: string;
  /** The authorizer's principalId. */
  readonly userId: string;
  /** The authorizer context's scopes, space-separated; undefined when the context has none. */
  readonly scopes: string | undefined;
}

/** The request headers for the service. */
export function upstreamRequestHeaders(
  rawHeaders: readonly string[],
  identity: ForwardedIdentity,
  hop: { readonly host: string; readonly bodyBytes: number; readonly clientIp: string },
): HeaderMap {
  const received = groupRaw(rawHeaders);
  const headers = withoutHopByHop(received);
  for (const name of Object.values(GATEWAY_HEADERS)) delete headers[name];
  headers[GATEWAY_HEADERS.requestId] = [identity.requestId];
  headers[GATEWAY_HEADERS.userId] = [identity.userId];
  if (identity.scopes !== undefined) headers[GATEWAY_HEADERS.userScopes] = [identity.scopes];
  headers.host = [hop.host];
  // A body that was sent, even an empty one, keeps a length; a request that sent none gets none.
  if (hop.bodyBytes > 0 || received['content-length'] !== undefined || received['transfer-encoding'] !== undefined) {
    headers['content-length'] = [String(hop.bodyBytes)];
  }
  // API Gateway appends the client's address to X-Forwarded-For, as proxies do.
  headers['x-forwarded-for'] = [[...(headers['x-forwarded-for'] ?? []), hop.clientIp].join(', ')];
  return headers;
}

/** The service's response headers for the client, with the gateway's request id. */
export function downstreamResponseHeaders(upstream: Readonly<Record<string, readonly string[] | undefined>>, requestId: string): HeaderMap {
  const received: HeaderMap = {};
  for (const [name, values] of Object.entries(upstream)) if (values !== undefined) (received[name.toLowerCase()] ??= []).push(...values);
  const headers = withoutHopByHop(received);
  // The service's length still holds for the bytes streamed on; a chunked encoding (dropped above) is Node's to redo.
  if (received['content-length'] !== undefined) headers['content-length'] = received['content-length'];
  headers[GATEWAY_HEADERS.requestId] = [requestId];
  return headers;
}

/** Headers as Node sends them: one value as a string (Node refuses a list for Host or Content-Length), several as a list. */
export function toNodeHeaders(headers: HeaderMap): Record<string, string | string[]> {
  return Object.fromEntries(Object.entries(headers).map(([name, values]) => [name, values.length === 1 ? values[0] : values]));
}

/** Node's alternating `rawHeaders`, grouped by lower-case name. */
export function groupRaw(rawHeaders: readonly string[]): HeaderMap {
  const headers: HeaderMap = {};
  for (let index = 0; index + 1 < rawHeaders.length; index += 2) {
    (headers[rawHeaders[index].toLowerCase()] ??= []).push(rawHeaders[index + 1]);
  }
  return headers;
}

function withoutHopByHop(headers: HeaderMap): HeaderMap {
  // Headers the Connection header names are hop-by-hop too (RFC 9110 section 7.6.1).
  const named = new Set((headers.connection ?? []).flatMap((value) => value.split(',').map((token) => token.trim().toLowerCase())));
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !NOT_FORWARDED.has(name) && !named.has(name)));
}
