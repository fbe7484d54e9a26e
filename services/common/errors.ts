/**
 * The services' errors: a code that names what went wrong, and a message for the client. HTTP status
 * codes are decided at the edge only, from the code, in {@link httpStatusOf}.
 */

/** Every error code a service may answer with. */
export type ErrorCode =
  | 'VALIDATION_FAILED'
  | 'MALFORMED_JSON'
  | 'INVALID_QUERY'
  | 'INVALID_CURSOR'
  | 'MISSING_IDEMPOTENCY_KEY'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'PRODUCT_NOT_FOUND'
  | 'ORDER_NOT_FOUND'
  | 'ROUTE_NOT_FOUND'
  | 'INSUFFICIENT_STOCK'
  | 'RESERVATION_CONFLICT'
  | 'IDEMPOTENCY_IN_PROGRESS'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'IDEMPOTENCY_KEY_REUSED'
  | 'UNKNOWN_PRODUCT'
  | 'MIXED_CURRENCIES'
  | 'TOTAL_TOO_LARGE'
  | 'DEPENDENCY_UNAVAILABLE'
  | 'PRODUCT_BUSY'
  | 'INTERNAL';

const STATUS: Readonly<Record<ErrorCode, number>> = {
  VALIDATION_FAILED: 400,
  MALFORMED_JSON: 400,
  INVALID_QUERY: 400,
  INVALID_CURSOR: 400,
  MISSING_IDEMPOTENCY_KEY: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  PRODUCT_NOT_FOUND: 404,
  ORDER_NOT_FOUND: 404,
  ROUTE_NOT_FOUND: 404,
  INSUFFICIENT_STOCK: 409,
  RESERVATION_CONFLICT: 409,
  IDEMPOTENCY_IN_PROGRESS: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  // IETF draft-ietf-httpapi-idempotency-key-header: a key reused with another payload is a 422.
  IDEMPOTENCY_KEY_REUSED: 422,
  UNKNOWN_PRODUCT: 422,
  MIXED_CURRENCIES: 422,
  TOTAL_TOO_LARGE: 422,
  DEPENDENCY_UNAVAILABLE: 503,
  // Too many orders for one product at once: refused at once rather than queued past the deadline.
  PRODUCT_BUSY: 503,
  INTERNAL: 500,
};

/** The HTTP status of an error code. */
export function httpStatusOf(code: ErrorCode): number {
  return STATUS[code];
}

/** Whether a string is one of our error codes (when reading another service's error response). */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(STATUS, value);
}

/** An error the service expects and answers with its code. */
export class ServiceError extends Error {
  override readonly name = 'ServiceError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** The body of every error response. */
export interface ErrorBody {
  readonly error: { readonly code: string; readonly message: string; readonly requestId: string };
}
