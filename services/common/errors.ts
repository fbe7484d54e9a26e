/**
 * The services' errors: a code that names what went wrong, and a message for the client. HTTP status
 * codes are decided at the edge only, from the code, in {@link httpStatusOf}. The codes, their
 * statuses and the error body are declared in lib/routes/error-body.ts, which the gateways share.
 */
import type { ErrorCode } from '../../lib/routes/error-body';
import { SERVICE_ERROR_STATUS } from '../../lib/routes/error-body';

export type { ErrorBody, ErrorCode } from '../../lib/routes/error-body';

/** The HTTP status of an error code. */
export function httpStatusOf(code: ErrorCode): number {
  return SERVICE_ERROR_STATUS[code];
}

/** Whether a string is one of our error codes (when reading another service's error response). */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(SERVICE_ERROR_STATUS, value);
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
