/**
 * The authorizer's errors. Each carries a `code` for logs; the handler maps the class to the API
 * Gateway outcome at the edge: a rejected token is a 401, an unavailable key source a 5xx.
 */
import { JWKS_UNAVAILABLE_CODE } from '../../lib/auth/authorizer-contract';

/** Why a token was turned away. */
export type RejectionCode =
  | 'TOKEN_MISSING'
  | 'TOKEN_MULTIPLE'
  | 'TOKEN_TOO_LARGE'
  | 'TOKEN_SCHEME'
  | 'TOKEN_MALFORMED'
  | 'TOKEN_ISSUER_UNTRUSTED'
  | 'TOKEN_ALG_NOT_ALLOWED'
  | 'TOKEN_TYPE_INVALID'
  | 'TOKEN_KEY_UNKNOWN'
  | 'TOKEN_KEY_AMBIGUOUS'
  | 'TOKEN_SIGNATURE_INVALID'
  | 'TOKEN_EXPIRED'
  | 'TOKEN_CLAIM_INVALID'
  | 'TOKEN_USE_INVALID'
  | 'TOKEN_CLIENT_UNTRUSTED'
  | 'TOKEN_UNSUPPORTED';

/** Base class: every error the authorizer raises on purpose. */
export abstract class AuthorizerError extends Error {
  abstract readonly code: string;
}

/** The token is missing, malformed, untrusted or invalid: API Gateway answers 401. */
export class TokenRejectedError extends AuthorizerError {
  override readonly name = 'TokenRejectedError';
  constructor(
    readonly code: RejectionCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * The issuer's keys could not be had (down, slow, not a JWKS). The request fails closed with a 5xx
 * that API Gateway does not cache; the token is neither allowed nor denied.
 */
export class JwksUnavailableError extends AuthorizerError {
  override readonly name = 'JwksUnavailableError';
  readonly code = JWKS_UNAVAILABLE_CODE;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/** The event is not what API Gateway sends a REQUEST authorizer (a wiring mistake): 5xx. */
export class InvalidEventError extends AuthorizerError {
  override readonly name = 'InvalidEventError';
  readonly code = 'EVENT_INVALID';
  constructor(message: string) {
    super(message);
  }
}
