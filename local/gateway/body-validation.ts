/**
 * The request validator of routes with a `requestSchema`: the body must be JSON that satisfies the
 * route's draft-04 schema, the very object API Gateway's model and the service are given. Ajv runs
 * with the options the services use, so the gateway never passes what a service would turn away.
 */
import Ajv from 'ajv-draft-04';
import type { ValidateFunction } from 'ajv-draft-04';
import type { RouteSpec } from '../../lib/routes/route-spec';
import { routeKey } from '../../lib/routes/route-spec';

/** API Gateway's largest request body (10 MB): a larger one is answered 413 before anything else. */
export const MAX_BODY_BYTES = 10 * 1024 * 1024;

/** The outcome of validating a body; `detail` is for the log (it never quotes the body). */
export type BodyCheck = { readonly valid: true } | { readonly valid: false; readonly detail: string };

/** Validators for every route of a spec that has a body schema, compiled once. */
export class BodyValidator {
  private readonly validators = new Map<RouteSpec, ValidateFunction>();

  /** @throws Error naming the route when its schema does not compile. */
  constructor(routes: readonly RouteSpec[]) {
    const ajv = new Ajv({ allErrors: false, strict: true, coerceTypes: false });
    for (const route of routes) {
      if (route.requestSchema === undefined) continue;
      try {
        this.validators.set(route, ajv.compile(route.requestSchema));
      } catch (error) {
        throw new Error(
          `routes: the requestSchema of ${routeKey(route)} does not compile as draft-04: ${error instanceof Error ? error.message : String(error)}`,
          { cause: error },
        );
      }
    }
  }

  /** Checks `body` against the route's schema; a route without one accepts any body. */
  check(route: RouteSpec, body: Buffer): BodyCheck {
    const validate = this.validators.get(route);
    if (validate === undefined) return { valid: true };
    let parsed: unknown;
    try {
      // An empty body is no JSON document: a schema route gets nothing it could accept.
      parsed = JSON.parse(body.toString('utf8'));
    } catch (error) {
      if (!(error instanceof SyntaxError)) throw error;
      return { valid: false, detail: 'the body is not JSON' };
    }
    if (validate(parsed)) return { valid: true };
    const first = validate.errors?.[0];
    return {
      valid: false,
      detail: first === undefined ? 'the body does not match the schema' : `${first.instancePath || '/'} ${first.message ?? 'is invalid'}`,
    };
  }
}
