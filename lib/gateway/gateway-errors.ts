/**
 * The gateway's own error answers, in the services' error shape: the CDK gateway renders them as API
 * Gateway gateway responses (with {@link gatewayErrorTemplate}), and the local gateway answers with
 * the same status, code and body (lib/routes/error-body.ts). Pure data.
 */
import { errorBodyTemplate } from '../routes/error-body';

/** One gateway error answer. */
export interface GatewayError {
  /** API Gateway's gateway response type. */
  readonly responseType: string;
  /** The HTTP status; absent: API Gateway's own for that type (the DEFAULT_* types). */
  readonly status?: number;
  /** The `error.code` of the body. */
  readonly code: string;
}

/** Every gateway error Gatehouse shapes. */
export const GATEWAY_ERRORS: readonly GatewayError[] = [
  { responseType: 'BAD_REQUEST_BODY', status: 400, code: 'VALIDATION_FAILED' },
  { responseType: 'BAD_REQUEST_PARAMETERS', status: 400, code: 'VALIDATION_FAILED' },
  { responseType: 'UNAUTHORIZED', status: 401, code: 'UNAUTHORIZED' },
  { responseType: 'ACCESS_DENIED', status: 403, code: 'FORBIDDEN' },
  { responseType: 'INVALID_API_KEY', status: 403, code: 'INVALID_API_KEY' },
  { responseType: 'WAF_FILTERED', status: 403, code: 'FORBIDDEN' },
  // API Gateway answers an unknown path as a missing token (403); to a client it is a missing route.
  { responseType: 'MISSING_AUTHENTICATION_TOKEN', status: 404, code: 'ROUTE_NOT_FOUND' },
  { responseType: 'REQUEST_TOO_LARGE', status: 413, code: 'PAYLOAD_TOO_LARGE' },
  { responseType: 'UNSUPPORTED_MEDIA_TYPE', status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  { responseType: 'THROTTLED', status: 429, code: 'THROTTLED' },
  { responseType: 'QUOTA_EXCEEDED', status: 429, code: 'QUOTA_EXCEEDED' },
  { responseType: 'AUTHORIZER_FAILURE', status: 500, code: 'AUTHORIZER_FAILURE' },
  { responseType: 'AUTHORIZER_CONFIGURATION_ERROR', status: 500, code: 'AUTHORIZER_FAILURE' },
  { responseType: 'INTEGRATION_TIMEOUT', status: 504, code: 'GATEWAY_TIMEOUT' },
  { responseType: 'DEFAULT_4XX', code: 'BAD_REQUEST' },
  { responseType: 'DEFAULT_5XX', code: 'INTERNAL' },
];

/**
 * The `application/json` response template of a gateway error: the ErrorBody (lib/routes/error-body.ts) of its code,
 * with API Gateway's message and request id.
 */
export function gatewayErrorTemplate(error: Pick<GatewayError, 'code'>): string {
  return errorBodyTemplate(error.code);
}
