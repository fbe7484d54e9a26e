/**
 * Header names of the contract between the gateway and the services. The gateway sets the identity
 * headers from the authorizer's context, overriding anything a client sent; the services read them.
 */
export const GATEWAY_HEADERS = {
  /** Correlates logs of the gateway and every service a request touches. */
  requestId: 'x-request-id',
  /**
   * The caller, from the authorizer's principal: the token's `sub` with one issuer; with several,
   * `sub` qualified by its issuer (see lambda/authorizer/identity.ts), so that two issuers' users never share an id.
   */
  userId: 'x-user-id',
  /** The caller's scopes, space-separated. */
  userScopes: 'x-user-scopes',
  /**
   * Which service a request is for: set by the gateway's integration from the route's service, and
   * matched by that service's rule on the internal ALB. Never read by the services.
   */
  service: 'x-gatehouse-service',
} as const;

/** Makes a POST safe to retry (IETF draft-ietf-httpapi-idempotency-key-header). */
export const IDEMPOTENCY_KEY_HEADER = 'idempotency-key';

/** What an Idempotency-Key may be: 1 to 255 visible ASCII characters (a JSON Schema `pattern`, and the services' check). */
export const IDEMPOTENCY_KEY_PATTERN = '^[\\x21-\\x7E]{1,255}$';

/** Set on a response that replays the result of an earlier request with the same idempotency key. */
export const IDEMPOTENT_REPLAYED_HEADER = 'idempotent-replayed';

/** Where clients send their API key when the API reads it from the header (apiKeySource HEADER, API Gateway's name). */
export const API_KEY_HEADER = 'x-api-key';
