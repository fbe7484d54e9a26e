/**
 * Evaluating an authorizer's IAM policy the way API Gateway does: an explicit Deny that matches wins,
 * else an Allow that matches allows, else the request is denied. `*` matches any run of characters
 * (`/` included) and `?` any one; actions compare without case, resources with it.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
 * Pure. The policy arrives as `unknown`: a malformed one is an error, never an allow.
 */

/** The action API Gateway checks a policy for. */
export const INVOKE_ACTION = 'execute-api:Invoke';

/** A policy the gateway cannot read (API Gateway answers these with a 500). */
export class PolicyFormatError extends Error {
  override readonly name = 'PolicyFormatError';
}

/** One statement, its patterns compiled. */
export interface PolicyStatement {
  readonly effect: 'Allow' | 'Deny';
  /** The statement applies to actions matching one of these, or (negated) to every action matching none. */
  readonly actions: { readonly negated: boolean; readonly patterns: readonly RegExp[] };
  /** The statement applies to resources matching one of these, or (negated) to every resource matching none. */
  readonly resources: { readonly negated: boolean; readonly patterns: readonly RegExp[] };
}

/** A checked policy document. */
export interface Policy {
  readonly statements: readonly PolicyStatement[];
}

/** The outcome of evaluating a policy for one request. */
export type PolicyDecision = 'allow' | 'explicit-deny' | 'implicit-deny';

/**
 * Checks and compiles a policy document.
 * @throws PolicyFormatError naming what is wrong; conditions are refused, since ignoring one could allow.
 */
export function parsePolicy(document: unknown): Policy {
  assertRecord(document, 'policyDocument');
  const { Statement } = document;
  const statements: unknown[] = Array.isArray(Statement) ? Statement : [Statement];
  if (statements.length === 0 || Statement === undefined) throw new PolicyFormatError('policyDocument.Statement must list at least one statement');
  return {
    statements: statements.map((statement, index) => {
      const name = `policyDocument.Statement[${index}]`;
      assertRecord(statement, name);
      if (statement.Effect !== 'Allow' && statement.Effect !== 'Deny') {
        throw new PolicyFormatError(`${name}.Effect must be Allow or Deny, got ${JSON.stringify(statement.Effect)}`);
      }
      if (statement.Condition !== undefined) throw new PolicyFormatError(`${name}.Condition is not supported by the local gateway`);
      return {
        effect: statement.Effect,
        actions: patternsOf(statement, 'Action', 'NotAction', name, 'i'),
        resources: patternsOf(statement, 'Resource', 'NotResource', name, ''),
      };
    }),
  };
}

/** What `policy` decides for `action` on `resource` (a method ARN). */
export function evaluatePolicy(policy: Policy, action: string, resource: string): PolicyDecision {
  const applies = (statement: PolicyStatement): boolean => matches(statement.actions, action) && matches(statement.resources, resource);
  if (policy.statements.some((statement) => statement.effect === 'Deny' && applies(statement))) return 'explicit-deny';
  return policy.statements.some((statement) => statement.effect === 'Allow' && applies(statement)) ? 'allow' : 'implicit-deny';
}

/** An IAM wildcard pattern as a regular expression over the whole value. */
export function wildcardPattern(pattern: string, flags = ''): RegExp {
  const source = [...pattern]
    .map((character) => (character === '*' ? '.*' : character === '?' ? '.' : character.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`, `s${flags}`);
}

function matches(set: PolicyStatement['actions'], value: string): boolean {
  const hit = set.patterns.some((pattern) => pattern.test(value));
  return set.negated ? !hit : hit;
}

function patternsOf(statement: Record<string, unknown>, key: string, notKey: string, name: string, flags: string): PolicyStatement['actions'] {
  const positive = statement[key];
  const negative = statement[notKey];
  if ((positive === undefined) === (negative === undefined)) throw new PolicyFormatError(`${name} must have exactly one of ${key} and ${notKey}`);
  const value = positive ?? negative;
  const list: unknown[] = Array.isArray(value) ? value : [value];
  if (list.length === 0 || !list.every((entry): entry is string => typeof entry === 'string' && entry.length > 0)) {
    throw new PolicyFormatError(`${name}.${positive === undefined ? notKey : key} must be a non-empty string or list of them`);
  }
  return { negated: positive === undefined, patterns: list.map((entry) => wildcardPattern(entry, flags)) };
}

/** @throws PolicyFormatError naming `name` when `value` is not a plain object. */
export function assertRecord(value: unknown, name: string): asserts value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new PolicyFormatError(`${name} must be an object`);
}
