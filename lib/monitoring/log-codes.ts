/**
 * The log lines that Gatehouse's alarms count, as metric filter patterns.
 *
 * The runtime writes one JSON object per line with a `code` field: the authorizer on each outcome
 * (lambda/authorizer/handler.ts), the services on each error answer (services/common/server.ts). The
 * codes come from the contracts the runtime itself uses (the authorizer's, lib/auth/authorizer-contract,
 * and the services' error codes, lib/routes/error-body), so a renamed code fails the type check here
 * instead of silently leaving an alarm with nothing to count. Pure: no aws-cdk-lib import.
 */
import { JWKS_UNAVAILABLE_CODE as AUTHORIZER_JWKS_UNAVAILABLE } from '../auth/authorizer-contract';
import type { ErrorCode } from '../routes/error-body';

/** The field of a JSON log line that holds its error or outcome code. */
export const LOG_CODE_FIELD = 'code';

/** The field of a service's log lines that names the service (pino's `base` in services/common/server.ts). */
export const SERVICE_LOG_FIELD = 'service';

/** The authorizer's code for "the issuer's keys could not be had": every request fails closed. */
export const JWKS_UNAVAILABLE_CODE = AUTHORIZER_JWKS_UNAVAILABLE;

/** A service's answer when something it depends on (another service, Cloud Map, a deadline) failed it. */
export const DEPENDENCY_UNAVAILABLE_CODE = 'DEPENDENCY_UNAVAILABLE' satisfies ErrorCode;

/** A CloudWatch Logs JSON filter pattern matching lines whose `field` equals `value` (a string). */
export function jsonEqualsPattern(field: string, value: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(field)) throw new Error(`field must be a plain JSON property name, got ${JSON.stringify(field)}`);
  if (!/^[A-Za-z0-9_.:-]+$/.test(value)) throw new Error(`value must be letters, digits, _ . : or -, got ${JSON.stringify(value)}`);
  return `{ $.${field} = "${value}" }`;
}

/**
 * Whether a JSON log line matches a pattern made by {@link jsonEqualsPattern}: the same test
 * CloudWatch Logs applies, for the only shape of pattern this module makes. Lets tests prove that the
 * lines the runtime really writes are the ones the alarms count.
 */
export function matchesJsonEqualsPattern(pattern: string, line: string): boolean {
  const parsed = /^\{ \$\.([A-Za-z_][A-Za-z0-9_]*) = "([^"]*)" \}$/.exec(pattern);
  if (parsed === null) throw new Error(`pattern is not one jsonEqualsPattern makes: ${pattern}`);
  let record: unknown;
  try {
    record = JSON.parse(line);
  } catch {
    return false;
  }
  return typeof record === 'object' && record !== null && (record as Record<string, unknown>)[parsed[1]] === parsed[2];
}
