/**
 * The body of every error answer, whoever makes it: the services (services/common/server.ts), the
 * local gateway (local/gateway/answers.ts) and API Gateway's gateway responses (their mapping
 * templates, rendered by {@link errorBodyTemplate}). The shape and its builder are declared here once,
 * with the services' error codes and their statuses. Pure: the runtime imports it, so no aws-cdk-lib.
 */

/** The body of every error response: `{"error":{"code","message","requestId"}}`. */
export interface ErrorBody {
  readonly error: {
    /** What went wrong, for programs: `VALIDATION_FAILED`, `THROTTLED`, ... */
    readonly code: string;
    /** What went wrong, for people. */
    readonly message: string;
    /** The request's id, as in its `x-request-id` header and in every log line of the request. */
    readonly requestId: string;
  };
}

/** The error body for `code`, `message` and `requestId`. */
export function errorBody(code: string, message: string, requestId: string): ErrorBody {
  return { error: { code, message, requestId } };
}

/** An error code that a template may carry literally: upper-case letters, digits and `_`. */
const CODE = /^[A-Z][A-Z0-9_]*$/;

// Stand-ins that JSON.stringify leaves as they are, replaced by API Gateway's variables below.
const MESSAGE_SLOT = 'GATEHOUSE_MESSAGE_SLOT';
const REQUEST_ID_SLOT = 'GATEHOUSE_REQUEST_ID_SLOT';

/**
 * The `application/json` mapping template of a gateway response whose body is the {@link ErrorBody}
 * with `code`: made from {@link errorBody} itself, with API Gateway's message
 * (`$context.error.messageString`, which it renders already quoted) and request id put in.
 * @throws Error if `code` is not upper-case letters, digits and `_` (it goes into the template as is).
 */
export function errorBodyTemplate(code: string): string {
  if (!CODE.test(code)) throw new Error(`code must be upper-case letters, digits and _ (it is written into a mapping template), got ${JSON.stringify(code)}`);
  return JSON.stringify(errorBody(code, MESSAGE_SLOT, REQUEST_ID_SLOT))
    .replace(JSON.stringify(MESSAGE_SLOT), '$context.error.messageString')
    .replace(REQUEST_ID_SLOT, '$context.requestId');
}

/**
 * Every error code a service may answer with, and its HTTP status. Statuses are decided from the code
 * only, at the edge (services/common/errors.ts `httpStatusOf`).
 */
export const SERVICE_ERROR_STATUS = {
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
} as const satisfies Readonly<Record<string, number>>;

/** Every error code a service may answer with. */
export type ErrorCode = keyof typeof SERVICE_ERROR_STATUS;
