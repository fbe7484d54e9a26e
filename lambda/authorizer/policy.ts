/**
 * The IAM policy an authorizer returns. API Gateway caches it per token and applies it to every route
 * of the API, so it lists every route the token's scopes permit, never just the one requested.
 */
import type { PolicyDocument } from 'aws-lambda';
import type { ScopeTable } from './config';
import { InvalidEventError } from './errors';

// arn:{partition}:execute-api:{region}:{account}:{apiId}/{stage}/{method}/{path...}
const METHOD_ARN = /^(arn:[a-z-]+:execute-api:[a-z0-9-]+:\d{12}:[A-Za-z0-9]+\/[^/]+)\/[A-Z*]+\/.*$/;

/** Distinct scope lists are few in practice; the cap only keeps a pathological issuer from growing memory. */
export const MAX_MEMOIZED_POLICIES = 1024;

/** Builds and memoizes the policy for each distinct list of scopes. */
export class PolicyBuilder {
  /**
   * Cache "policy documents": whole documents by API stage and scopes as the token lists them, so most
   * requests build, sort and freeze nothing. Keyed by a JSON array, so no scope containing a space or
   * any separator can make two lists share an entry. Bounded ({@link MAX_MEMOIZED_POLICIES}), emptied
   * when full. Nothing in it depends on the JWKS: a document follows from the scopes alone.
   */
  private readonly documents = new Map<string, PolicyDocument>();

  constructor(private readonly table: ScopeTable) {}

  /** The policy for a token with `scopes`, for the API and stage of `methodArn`. Frozen: it is shared. */
  build(methodArn: string, scopes: readonly string[]): PolicyDocument {
    const prefix = apiStageArn(methodArn);
    const key = memoKey(prefix, scopes);
    let document = this.documents.get(key);
    if (document === undefined) {
      document = deepFreeze(this.document(prefix, this.resourcesFor(scopes)));
      if (this.documents.size >= MAX_MEMOIZED_POLICIES) this.documents.clear();
      this.documents.set(key, document);
    }
    return document;
  }

  private document(prefix: string, resources: readonly string[]): PolicyDocument {
    if (resources.length === 0) {
      // A valid token that no route accepts: deny everything, so the cached answer is a 403 everywhere.
      return { Version: '2012-10-17', Statement: [{ Effect: 'Deny', Action: 'execute-api:Invoke', Resource: `${prefix}/*` }] };
    }
    return {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 'execute-api:Invoke', Resource: resources.map((resource) => `${prefix}/${resource}`) }],
    };
  }

  /** How many documents are memoized, for tests of the bound. */
  get memoized(): number {
    return this.documents.size;
  }

  /**
   * The policy resources (`GET/products/*`) that `scopes` permit, sorted. Not memoized on its own: it
   * runs only when a document is missed (once per scope list and stage), where a cache of its own
   * would save a few µs of set building, and would be one more cache to bound.
   */
  resourcesFor(scopes: readonly string[]): readonly string[] {
    const permitted = new Set(this.table.any);
    // Own properties only: a scope named "constructor" must not reach Object.prototype.
    for (const scope of scopes) if (Object.hasOwn(this.table.byScope, scope)) for (const resource of this.table.byScope[scope]) permitted.add(resource);
    return [...permitted].sort();
  }
}

/** The memo key of a stage and a scope list: a JSON array, so the boundaries between scopes are kept whatever they contain. */
export function memoKey(prefix: string, scopes: readonly string[]): string {
  return JSON.stringify([prefix, ...scopes]);
}

/** `arn:…:{apiId}/{stage}` of a method ARN. */
export function apiStageArn(methodArn: string): string {
  const match = METHOD_ARN.exec(methodArn);
  if (match === null) throw new InvalidEventError('methodArn is not an execute-api method ARN');
  return match[1];
}

function deepFreeze<T extends object>(value: T): T {
  for (const child of Object.values(value)) if (typeof child === 'object' && child !== null) deepFreeze(child as object);
  return Object.freeze(value);
}
