/** Finding the one bearer token of a request (RFC 6750), before any JWT parsing. */
import { MAX_TOKEN_BYTES } from './config';
import { TokenRejectedError } from './errors';

/** The request headers as a REQUEST authorizer event carries them. */
export interface AuthorizerHeaders {
  readonly headers?: Readonly<Record<string, string | undefined>> | null;
  readonly multiValueHeaders?: Readonly<Record<string, readonly string[] | undefined>> | null;
}

// The credentials of the Bearer scheme, narrowed to a JWS in compact form: three base64url parts and
// a non-empty signature. This turns away JWE (five parts), unsigned `alg: none` tokens and padding.
// One pass over the header for a good token; a bad one is looked at again only to name what is wrong.
const BEARER_JWS = /^\s*bearer +([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)\s*$/i;
const BEARER = /^\s*bearer(\s|$)/i;

/**
 * The JWT from the request's single `Authorization: Bearer <jwt>` header.
 * @throws TokenRejectedError when there is none, more than one, or it is too large or not a compact JWS.
 */
export function extractBearerToken(request: AuthorizerHeaders): string {
  const values = authorizationValues(request);
  if (values.length === 0) throw new TokenRejectedError('TOKEN_MISSING', 'no Authorization header');
  if (values.length > 1) throw new TokenRejectedError('TOKEN_MULTIPLE', 'more than one Authorization header');
  const value = values[0];
  // A match is ASCII, one byte a character, so only a value that fails needs its bytes counted.
  const match = value.length > MAX_TOKEN_BYTES ? null : BEARER_JWS.exec(value);
  if (match !== null) return match[1];
  if (value.length > MAX_TOKEN_BYTES || Buffer.byteLength(value) > MAX_TOKEN_BYTES) {
    throw new TokenRejectedError('TOKEN_TOO_LARGE', `Authorization header exceeds ${MAX_TOKEN_BYTES} bytes`);
  }
  if (!BEARER.test(value)) throw new TokenRejectedError('TOKEN_SCHEME', 'Authorization is not a Bearer token');
  throw new TokenRejectedError('TOKEN_MALFORMED', 'token is not one signed JWT in compact form');
}

/**
 * Every Authorization value of the request, whatever the case of the header name. Runs on every
 * request, so it walks the header names in place rather than copying them into entry arrays.
 */
function authorizationValues(request: AuthorizerHeaders): readonly string[] {
  const values: string[] = [];
  const multi = request.multiValueHeaders;
  if (multi != null) for (const name of Object.keys(multi)) if (isAuthorization(name)) values.push(...(multi[name] ?? []));
  if (values.length > 0) return values;
  const single = request.headers;
  if (single != null) {
    for (const name of Object.keys(single)) {
      const value = single[name];
      if (value !== undefined && isAuthorization(name)) values.push(value);
    }
  }
  return values;
}

function isAuthorization(name: string): boolean {
  return name.length === 13 && name.toLowerCase() === 'authorization';
}
