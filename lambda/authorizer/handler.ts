/**
 * The API Gateway REQUEST authorizer: parses the event, verifies the token, builds the policy, and
 * maps errors to API Gateway's outcomes at this edge only:
 * - a rejected token: throw exactly `Unauthorized`, which API Gateway turns into a 401;
 * - keys unavailable or anything unforeseen: throw another error, a 5xx that is not cached;
 * - a valid token: an Allow policy for every route its scopes permit (other routes: 403).
 */
import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import type { AuthorizerConfig } from './config';
import { AUTHORIZER_CONTEXT_KEYS, defaultUserIdFormat, userIdOf } from './config';
import { AuthorizerError, InvalidEventError, TokenRejectedError } from './errors';
import type { Logger } from './logger';
import { createJsonLogger } from './logger';
import { PolicyBuilder } from './policy';
import { extractBearerToken } from './token';
import { JwtVerifier } from './verify';
import type { VerifierOptions } from './verify';

/** The authorizer function, as Lambda calls it. */
export type AuthorizerHandler = (event: APIGatewayRequestAuthorizerEvent) => Promise<APIGatewayAuthorizerResult>;

/** Seams for tests and the local runtime. */
export interface AuthorizerHandlerOptions extends VerifierOptions {
  /** Where log lines go. @default - JSON lines on stdout */
  readonly logger?: Logger;
  /** Fetch the issuers' keys now, during init, rather than on the first request. @default - false */
  readonly prefetchKeys?: boolean;
}

/** The message API Gateway recognizes as "answer 401". */
export const UNAUTHORIZED = 'Unauthorized';

/**
 * Builds the handler; call once per process so that its caches outlive an invocation. It keeps four,
 * each bounded and each named where it is declared: the "key set" and the "picked keys" per issuer
 * (jwks.ts), the "verified tokens" (verify.ts; forgotten when a refetch drops their key) and the
 * "policy documents" (policy.ts). `npm run bench` measures the handler with all of them and its log line.
 */
export function createAuthorizerHandler(config: AuthorizerConfig, options: AuthorizerHandlerOptions = {}): AuthorizerHandler {
  const verifier = new JwtVerifier(config, options);
  const policies = new PolicyBuilder(config.scopeTable);
  const logger = options.logger ?? createJsonLogger();
  const userIds = defaultUserIdFormat(config);
  if (options.prefetchKeys === true) void verifier.prefetchKeys();

  return async (event) => {
    const started = performance.now();
    const requestId = typeof event?.requestContext?.requestId === 'string' ? event.requestContext.requestId : undefined;
    try {
      if (event?.type !== 'REQUEST' || typeof event.methodArn !== 'string') {
        throw new InvalidEventError('event is not an API Gateway REQUEST authorizer event');
      }
      const token = extractBearerToken(event);
      const caller = await verifier.verify(token);
      const policyDocument = policies.build(event.methodArn, caller.scopes);
      logger.info({ code: 'TOKEN_VALID', requestId, effect: policyDocument.Statement[0].Effect, ms: elapsed(started) });
      return {
        principalId: userIdOf(userIds, caller.issuer, caller.subject),
        policyDocument,
        context: {
          [AUTHORIZER_CONTEXT_KEYS.scopes]: caller.scopes.join(' '),
          [AUTHORIZER_CONTEXT_KEYS.issuer]: caller.issuer,
          ...(caller.clientId !== undefined && { [AUTHORIZER_CONTEXT_KEYS.clientId]: caller.clientId }),
        },
        ...(caller.usageIdentifierKey !== undefined && { usageIdentifierKey: caller.usageIdentifierKey }),
      };
    } catch (error) {
      if (error instanceof TokenRejectedError) {
        logger.info({ code: error.code, requestId, ms: elapsed(started) });
        throw new Error(UNAUTHORIZED);
      }
      if (error instanceof AuthorizerError) {
        logger.error({ code: error.code, requestId, detail: error.message, ms: elapsed(started) });
        throw new Error(`Authorizer failed: ${error.code}`);
      }
      logger.error({ code: 'INTERNAL', requestId, error: error instanceof Error ? error.name : typeof error, ms: elapsed(started) });
      throw new Error('Authorizer failed: INTERNAL');
    }
  };
}

function elapsed(started: number): number {
  return Math.round((performance.now() - started) * 100) / 100;
}
