/**
 * The authorizer step of a request, as API Gateway runs a REQUEST authorizer with a result cache:
 * no identity, a 401 without a call; a cached result, no call; else call the handler, map what it
 * throws (exactly `Unauthorized`: 401; anything else: 500, never cached), check and cache what it
 * returns, and evaluate its policy against this request's method ARN.
 */
import type { AuthorizerHandler } from '../../lambda/authorizer/handler';
import { UNAUTHORIZED } from '../../lambda/authorizer/handler';
import { AuthorizerCache } from './authorizer-cache';
import type { AuthorizerRequest } from './authorizer-event';
import { authorizerEvent, identityOf, methodArn } from './authorizer-event';
import type { Policy, PolicyDecision } from './iam-policy';
import { assertRecord, evaluatePolicy, INVOKE_ACTION, parsePolicy, PolicyFormatError } from './iam-policy';

/** The values an authorizer may put in its context (API Gateway refuses objects and arrays). */
export type AuthorizerContext = Readonly<Record<string, string | number | boolean>>;

/** An authorizer's result, checked: what the cache keeps. */
export interface AuthorizerResult {
  readonly principalId: string;
  readonly policy: Policy;
  readonly context: AuthorizerContext;
  /** The API key of the caller's usage plan, when the API reads keys from the authorizer (`apiKeySource: AUTHORIZER`). */
  readonly usageIdentifierKey?: string;
}

/** Where a decision came from, for the log. */
export type AuthorizerSource = 'cache' | 'authorizer' | 'no-identity';

/** The outcome of the authorizer step. */
export type AuthorizationOutcome =
  | {
      readonly kind: 'allowed';
      readonly source: AuthorizerSource;
      readonly principalId: string;
      readonly context: AuthorizerContext;
      readonly usageIdentifierKey?: string;
    }
  | { readonly kind: 'denied'; readonly source: AuthorizerSource; readonly principalId: string; readonly decision: Exclude<PolicyDecision, 'allow'> }
  | { readonly kind: 'unauthorized'; readonly source: AuthorizerSource }
  | {
      readonly kind: 'failed';
      readonly source: AuthorizerSource;
      /** AUTHORIZER_FAILURE: the handler threw; AUTHORIZER_CONFIGURATION_ERROR: it returned something API Gateway would refuse. */
      readonly responseType: 'AUTHORIZER_FAILURE' | 'AUTHORIZER_CONFIGURATION_ERROR';
      /** For the log: never the token. */
      readonly detail: string;
    };

/** The authorizer, behind API Gateway's result cache. */
export class LocalAuthorizer {
  private readonly cache: AuthorizerCache<AuthorizerResult>;

  constructor(
    private readonly handler: AuthorizerHandler,
    cacheTtlSeconds: number,
  ) {
    this.cache = new AuthorizerCache(cacheTtlSeconds);
  }

  /** Runs the authorizer step for `request` at `nowMs` (the cache's clock). */
  async authorize(request: AuthorizerRequest, nowMs: number): Promise<AuthorizationOutcome> {
    const identity = identityOf(request.rawHeaders);
    if (identity === undefined) return { kind: 'unauthorized', source: 'no-identity' };

    let source: AuthorizerSource = 'cache';
    let result = this.cache.get(identity, nowMs);
    if (result === undefined) {
      source = 'authorizer';
      let returned: unknown;
      try {
        returned = await this.handler(authorizerEvent(request));
      } catch (error) {
        if (error instanceof Error && error.message === UNAUTHORIZED) return { kind: 'unauthorized', source };
        return { kind: 'failed', source, responseType: 'AUTHORIZER_FAILURE', detail: error instanceof Error ? error.message : typeof error };
      }
      try {
        result = parseAuthorizerResult(returned);
      } catch (error) {
        if (!(error instanceof PolicyFormatError)) throw error;
        return { kind: 'failed', source, responseType: 'AUTHORIZER_CONFIGURATION_ERROR', detail: error.message };
      }
      this.cache.set(identity, result, nowMs);
    }

    const decision = evaluatePolicy(result.policy, INVOKE_ACTION, methodArn(request.stageName, request.method, request.path));
    if (decision !== 'allow') return { kind: 'denied', source, principalId: result.principalId, decision };
    return {
      kind: 'allowed',
      source,
      principalId: result.principalId,
      context: result.context,
      ...(result.usageIdentifierKey !== undefined && { usageIdentifierKey: result.usageIdentifierKey }),
    };
  }
}

/**
 * Checks an authorizer's return value as API Gateway does before using it.
 * @throws PolicyFormatError naming the field that is wrong.
 */
export function parseAuthorizerResult(value: unknown): AuthorizerResult {
  assertRecord(value, 'the authorizer result');
  const { principalId, policyDocument, context, usageIdentifierKey } = value;
  if (typeof principalId !== 'string' || principalId.length === 0) throw new PolicyFormatError('principalId must be a non-empty string');
  const policy = parsePolicy(policyDocument);
  const checked: Record<string, string | number | boolean> = {};
  if (context !== undefined && context !== null) {
    assertRecord(context, 'context');
    for (const [key, entry] of Object.entries(context)) {
      if (typeof entry !== 'string' && typeof entry !== 'number' && typeof entry !== 'boolean') {
        throw new PolicyFormatError(`context.${key} must be a string, number or boolean`);
      }
      checked[key] = entry;
    }
  }
  if (usageIdentifierKey !== undefined && typeof usageIdentifierKey !== 'string') throw new PolicyFormatError('usageIdentifierKey must be a string');
  return { principalId, policy, context: checked, ...(usageIdentifierKey !== undefined && { usageIdentifierKey }) };
}
