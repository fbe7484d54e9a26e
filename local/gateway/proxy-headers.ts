/**
 * The headers of an HTTP_PROXY hop: the client's headers go on to the service (Authorization too, as
 * API Gateway passes it), minus the hop-by-hop ones, with the identity headers set from the request
 * and the authorizer, replacing whatever the client sent under those names. Pure.
 *
 * Both directions work on Node's flat `rawHeaders` form (name, value, name, value …) and return it,
 * since `http.request` and `writeHead` take that form as it is: no grouping into objects and back on
 * every request.
 */
import { GATEWAY_HEADERS } from '../../lib/routes/headers';

/** Where a client sends its API key: API Gateway's `HEADER` key source. */
export const API_KEY_HEADER = 'x-api-key';

/** Headers as Node's `rawHeaders`: names and values alternating, a repeated header once per value. */
export type RawHeaders = readonly string[];

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

// Only the gateway sets these: a client's own never reach a service.
const GATEWAY_SET = new Set<string>(Object.values(GATEWAY_HEADERS));

// Methods Node frames with chunked encoding when no length is given: they get an explicit zero instead,
// as Node gives them when it writes the head at `end()`.
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);

/** Who is calling, as the gateway passes it on. */
export interface ForwardedIdentity {
  readonly requestId: string;
  /** The authorizer's principalId. */
  readonly userId: string;
  /** The authorizer context's scopes, space-separated; undefined when the context has none. */
  readonly scopes: string | undefined;
}

/** The next hop, as far as the request headers go. */
export interface RequestHop {
  /** The instance's `host:port`. */
  readonly host: string;
  readonly method: string;
  readonly bodyBytes: number;
  readonly clientIp: string;
}

/** The request headers for the service, lower-case names, as `http.request` takes them in an array. */
export function upstreamRequestHeaders(rawHeaders: RawHeaders, identity: ForwardedIdentity, hop: RequestHop): string[] {
  const named = connectionNamed(rawHeaders);
  const headers: string[] = ['host', hop.host];
  let forwardedFor: string | undefined;
  let framed = false;
  for (let index = 0; index + 1 < rawHeaders.length; index += 2) {
    const name = rawHeaders[index].toLowerCase();
    if (name === 'x-forwarded-for') {
      forwardedFor = forwardedFor === undefined ? rawHeaders[index + 1] : `${forwardedFor}, ${rawHeaders[index + 1]}`;
      continue;
    }
    if (name === 'content-length' || name === 'transfer-encoding') framed = true;
    if (NOT_FORWARDED.has(name) || GATEWAY_SET.has(name) || named?.has(name) === true) continue;
    headers.push(name, rawHeaders[index + 1]);
  }
  headers.push(GATEWAY_HEADERS.requestId, identity.requestId, GATEWAY_HEADERS.userId, identity.userId);
  if (identity.scopes !== undefined) headers.push(GATEWAY_HEADERS.userScopes, identity.scopes);
  // A body that was sent, even an empty one, keeps a length; a request that sent none gets none.
  if (hop.bodyBytes > 0 || framed || BODY_METHODS.has(hop.method)) headers.push('content-length', String(hop.bodyBytes));
  // API Gateway appends the client's address to X-Forwarded-For, as proxies do.
  headers.push('x-forwarded-for', forwardedFor === undefined ? hop.clientIp : `${forwardedFor}, ${hop.clientIp}`);
  return headers;
}

/** The service's response headers for the client (lower-case names), with the gateway's request id. */
export function downstreamResponseHeaders(rawHeaders: RawHeaders, requestId: string): string[] {
  const named = connectionNamed(rawHeaders);
  const headers: string[] = [];
  for (let index = 0; index + 1 < rawHeaders.length; index += 2) {
    const name = rawHeaders[index].toLowerCase();
    // The service's length still holds for the bytes streamed on; a chunked encoding (dropped) is Node's to redo.
    if (name !== 'content-length' && (NOT_FORWARDED.has(name) || named?.has(name) === true)) continue;
    if (name === GATEWAY_HEADERS.requestId) continue;
    headers.push(name, rawHeaders[index + 1]);
  }
  headers.push(GATEWAY_HEADERS.requestId, requestId);
  return headers;
}

// The headers the Connection header names are hop-by-hop too (RFC 9110 section 7.6.1); undefined when it
// names none beyond the usual keep-alive or close, as almost every request.
function connectionNamed(rawHeaders: RawHeaders): Set<string> | undefined {
  let named: Set<string> | undefined;
  for (let index = 0; index + 1 < rawHeaders.length; index += 2) {
    if (rawHeaders[index].length !== 10 || rawHeaders[index].toLowerCase() !== 'connection') continue;
    for (const token of rawHeaders[index + 1].split(',')) {
      const option = token.trim().toLowerCase();
      if (option !== '' && option !== 'keep-alive' && option !== 'close') (named ??= new Set()).add(option);
    }
  }
  return named;
}
