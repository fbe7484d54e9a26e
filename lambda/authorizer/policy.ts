/**
 * The IAM policy an authorizer returns. API Gateway caches it per token and applies it to every route
 * of the API, so it lists every route the token's scopes permit, never just the one requested.
 */
import type { PolicyDocument } from 'aws-lambda';
import type { ScopeTable } from './config';
import { InvalidEventError } from './errors';

// arn:{partition}:execute-api:{region}:{account}:{apiId}/{stage}/{method}/{path...}
const METHOD_ARN = /^(arn:[a-z-]+:execute-api:[a-z0-9-]+:\d{12}:[A-Za-z0-9]+\/[^/]+)\/[A-Z*]+\/.*$/;

// Distinct scope sets are few in practice; the cap only keeps a pathological issuer from growing memory.
const MAX_MEMOIZED_SCOPE_SETS = 1024;

/** Builds and memoizes the policy for each distinct set of scopes. */
export class PolicyBuilder {
  private readonly resourcesByScopes = new Map<string, readonly string[]>();
  /** Whole documents by API stage and scopes as the token lists them: most requests build nothing. */
  private readonly documents = new Map<string, PolicyDocument>();

  constructor(private readonly table: ScopeTable) {}

  /** The policy for a token with `scopes`, for the API and stage of `methodArn`. Frozen: it is shared. */
  build(methodArn: string, scopes: readonly string[]): PolicyDocument {
    const prefix = apiStageArn(methodArn);
    const key = `${prefix} ${scopes.join(' ')}`;
    let document = this.documents.get(key);
    if (document === undefined) {
      document = deepFreeze(this.document(prefix, this.resourcesFor(scopes)));
      if (this.documents.size >= MAX_MEMOIZED_SCOPE_SETS) this.documents.clear();
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

  /** The policy resources (`GET/products/*`) that `scopes` permit, sorted. */
  resourcesFor(scopes: readonly string[]): readonly string[] {
    // Own properties only: a scope named "constructor" must not reach Object.prototype.
    const known = scopes.filter((scope) => Object.hasOwn(this.table.byScope, scope)).sort();
    const key = known.join(' ');
    let resources = this.resourcesByScopes.get(key);
    if (resources === undefined) {
      const permitted = new Set(this.table.any);
      for (const scope of known) for (const resource of this.table.byScope[scope]) permitted.add(resource);
      resources = [...permitted].sort();
      if (this.resourcesByScopes.size >= MAX_MEMOIZED_SCOPE_SETS) this.resourcesByScopes.clear();
      this.resourcesByScopes.set(key, resources);
    }
    return resources;
  }
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
