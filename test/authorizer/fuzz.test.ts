/**
 * Property: no mutation of a valid token is ever allowed (unless it still decodes to the very same
 * header, payload and signature), and every rejection is the exact `Unauthorized` 401, never an
 * uncaught error.
 */
import fc from 'fast-check';
import { base64url } from 'jose';
import { createAuthorizerHandler, UNAUTHORIZED } from '../../lambda/authorizer/handler';
import type { AuthorizerHandler } from '../../lambda/authorizer/handler';
import { MemoryLogger, requestEvent, testConfig } from '../support/authorizer';
import { TestIssuer } from '../support/test-issuer';

const RUNS = 3_000;
let issuer: TestIssuer;
let handler: AuthorizerHandler;
let logger: MemoryLogger;
let valid: { rs: string; es: string };

beforeAll(async () => {
  issuer = await TestIssuer.start();
  logger = new MemoryLogger();
  handler = createAuthorizerHandler(testConfig([issuer]), { logger });
  valid = { rs: await issuer.sign({}, { expiresIn: 3600 }), es: await issuer.sign({}, { key: issuer.key('ES256'), expiresIn: 3600 }) };
  // Both originals are allowed, so every rejection below is the mutation's doing.
  await handler(requestEvent(`Bearer ${valid.rs}`));
  await handler(requestEvent(`Bearer ${valid.es}`));
});
afterAll(async () => {
  await issuer.close();
});

type Mutation =
  | { kind: 'replace'; at: number; text: string }
  | { kind: 'insert'; at: number; text: string }
  | { kind: 'delete'; at: number; length: number }
  | { kind: 'header' | 'payload'; field: string; value: unknown }
  | { kind: 'segments'; order: number[] };

const FIELDS = ['alg', 'kid', 'typ', 'crit', 'jku', 'jwk', 'x5u', 'b64', 'iss', 'aud', 'sub', 'exp', 'nbf', 'iat', 'scope', 'enc', 'zip'];
const ALPHABET = [...'AZaz09-_.+/= ~\u00e9\u0000'];

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('replace' as const), at: fc.nat(), text: fc.oneof(fc.constantFrom(...ALPHABET), fc.string({ maxLength: 3 })) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: fc.oneof(fc.constantFrom(...ALPHABET), fc.string({ maxLength: 8 })) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 40 }) }),
  {
    // Structure-preserving edits reach jose's own checks rather than the shape check before it.
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constantFrom('header' as const, 'payload' as const),
      field: fc.constantFrom(...FIELDS),
      value: fc.jsonValue({ maxDepth: 2 }),
    }),
  },
  fc.record({ kind: fc.constant('segments' as const), order: fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 1, maxLength: 5 }) }),
);

function apply(token: string, change: Mutation): string {
  switch (change.kind) {
    case 'replace': {
      const at = change.at % token.length;
      return token.slice(0, at) + change.text + token.slice(at + 1);
    }
    case 'insert': {
      const at = change.at % (token.length + 1);
      return token.slice(0, at) + change.text + token.slice(at);
    }
    case 'delete': {
      const at = change.at % token.length;
      return token.slice(0, at) + token.slice(at + change.length);
    }
    case 'header':
    case 'payload': {
      const parts = token.split('.');
      const index = change.kind === 'header' ? 0 : 1;
      let decoded: Record<string, unknown>;
      try {
        decoded = JSON.parse(new TextDecoder().decode(base64url.decode(parts[index] ?? ''))) as Record<string, unknown>;
      } catch {
        return token;
      }
      parts[index] = base64url.encode(JSON.stringify({ ...decoded, [change.field]: change.value }));
      return parts.join('.');
    }
    case 'segments': {
      const parts = token.split('.');
      return change.order.map((index) => parts[index] ?? '').join('.');
    }
  }
}

/** The bytes a token stands for: mutations that only touch unused base64url bits change nothing. */
function meaning(token: string): string | undefined {
  try {
    return token
      .split('.')
      .map((part) => Buffer.from(base64url.decode(part)).toString('hex'))
      .join('.');
  } catch {
    return undefined;
  }
}

it(`${RUNS} mutated tokens: zero allows, zero errors other than Unauthorized`, async () => {
  await fc.assert(
    fc.asyncProperty(fc.constantFrom('rs' as const, 'es' as const), fc.array(mutation, { minLength: 1, maxLength: 3 }), async (which, changes) => {
      const original = valid[which];
      const token = changes.reduce(apply, original);
      try {
        await handler(requestEvent(`Bearer ${token}`));
      } catch (error) {
        return error instanceof Error && error.message === UNAUTHORIZED;
      }
      return token === original || meaning(token) === meaning(original);
    }),
    { numRuns: RUNS },
  );
  expect(logger.lines.filter((line) => line.level === 'error')).toEqual([]);
});

it('arbitrary Authorization values: zero allows, zero errors other than Unauthorized', async () => {
  await fc.assert(
    fc.asyncProperty(fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.stringMatching(/^Bearer [A-Za-z0-9_.-]{0,300}$/)), async (value) => {
      try {
        await handler(requestEvent(value));
      } catch (error) {
        return error instanceof Error && error.message === UNAUTHORIZED;
      }
      return false;
    }),
    { numRuns: RUNS },
  );
});
