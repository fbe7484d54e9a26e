/**
 * The local gateway's own error answers: the status and code of each come from GATEWAY_ERRORS (the
 * entries the CDK gateway renders as gateway responses), the message is the one API Gateway puts in
 * `$context.error.messageString`. Pure data and functions.
 */
import { GATEWAY_ERRORS } from '../../lib/gateway/gateway-errors';
import type { ErrorBody } from '../../lib/routes/error-body';
import { errorBody as buildErrorBody } from '../../lib/routes/error-body';

/** The gateway response types the local gateway answers with. */
export const LOCAL_RESPONSE_TYPES = [
  'MISSING_AUTHENTICATION_TOKEN',
  'UNAUTHORIZED',
  'ACCESS_DENIED',
  'INVALID_API_KEY',
  'AUTHORIZER_FAILURE',
  'AUTHORIZER_CONFIGURATION_ERROR',
  'THROTTLED',
  'QUOTA_EXCEEDED',
  'BAD_REQUEST_BODY',
  'REQUEST_TOO_LARGE',
  'INTEGRATION_TIMEOUT',
  'DEFAULT_5XX',
] as const;

/** A gateway response type the local gateway answers with. */
export type LocalResponseType = (typeof LOCAL_RESPONSE_TYPES)[number];

/**
 * The status of a DEFAULT_5XX answer (an upstream that cannot be reached, or no instance at all).
 * The entry leaves the status to API Gateway, which has no single one for this: 502 says "the gateway
 * is fine, what is behind it is not", and keeps the answer apart from a service's own 500 and from
 * the 504 of a timeout.
 */
export const UPSTREAM_FAILURE_STATUS = 502;

/** The messages API Gateway gives for each type (`$context.error.messageString`). */
export const GATEWAY_ERROR_MESSAGES: Readonly<Record<LocalResponseType, string>> = {
  MISSING_AUTHENTICATION_TOKEN: 'Missing Authentication Token',
  UNAUTHORIZED: 'Unauthorized',
  ACCESS_DENIED: 'User is not authorized to access this resource',
  INVALID_API_KEY: 'Forbidden',
  AUTHORIZER_FAILURE: 'Internal server error',
  AUTHORIZER_CONFIGURATION_ERROR: 'Internal server error',
  THROTTLED: 'Too Many Requests',
  QUOTA_EXCEEDED: 'Limit Exceeded',
  BAD_REQUEST_BODY: 'Invalid request body',
  REQUEST_TOO_LARGE: 'Request Too Long',
  INTEGRATION_TIMEOUT: 'Endpoint request timed out',
  DEFAULT_5XX: 'Internal server error',
};

/** One error answer of the gateway. */
export interface GatewayAnswer {
  readonly responseType: LocalResponseType;
  readonly status: number;
  readonly code: string;
  readonly message: string;
}

/** The JSON body of every gateway-made error: the shape the services answer errors in (lib/routes/error-body.ts). */
export type GatewayErrorBody = ErrorBody;

// Resolved once, at import: a type missing from GATEWAY_ERRORS fails the start, not a request.
const ANSWERS: ReadonlyMap<LocalResponseType, GatewayAnswer> = new Map(
  LOCAL_RESPONSE_TYPES.map((responseType) => {
    const entry = GATEWAY_ERRORS.find((error) => error.responseType === responseType);
    if (entry === undefined) throw new Error(`GATEWAY_ERRORS has no entry for ${responseType}, which the local gateway answers with`);
    const status = entry.status ?? (responseType === 'DEFAULT_5XX' ? UPSTREAM_FAILURE_STATUS : undefined);
    if (status === undefined) throw new Error(`GATEWAY_ERRORS gives ${responseType} no status, and the local gateway has none for it`);
    return [responseType, { responseType, status, code: entry.code, message: GATEWAY_ERROR_MESSAGES[responseType] }];
  }),
);

/** The status, code and message of an error answer. */
export function gatewayAnswer(responseType: LocalResponseType): GatewayAnswer {
  const answer = ANSWERS.get(responseType);
  if (answer === undefined) throw new Error(`no gateway answer for ${responseType}`);
  return answer;
}

/** The body of an error answer, for the request `requestId`. */
export function errorBody(answer: GatewayAnswer, requestId: string): ErrorBody {
  return buildErrorBody(answer.code, answer.message, requestId);
}
