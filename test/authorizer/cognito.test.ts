/**
 * Cognito user pool access tokens through the real handler: no aud but client_id (checked against
 * the app client ids), token_use `access` required, and scopes named `<resource server>/<scope>`;
 * next to an issuer of the other shape (aud), and the caller id issuer-qualified with several issuers.
 */
import { createAuthorizerHandler, UNAUTHORIZED } from '../../lambda/authorizer/handler';
import type { AuthorizerConfig } from '../../lib/auth/authorizer-contract';
import { AUTHORIZER_CONTEXT_KEYS, USER_ID_SEPARATOR } from '../../lib/auth/authorizer-contract';
import { API_STAGE_ARN, MemoryLogger, methodArnFor, policyAllows, requestEvent, testConfig } from '../support/authorizer';
import { TestIssuer } from '../support/test-issuer';

const PREFIX = 'gatehouse/';
let cognito: TestIssuer;
let oidc: TestIssuer;

beforeAll(async () => {
  [cognito, oidc] = await Promise.all([TestIssuer.start(), TestIssuer.start()]);
}, 60_000);
afterAll(async () => {
  await Promise.all([cognito?.close(), oidc?.close()]);
});

/** The two issuers as a deployment would trust them: the stack's user pool, and an OIDC provider with an audience. */
function config(overrides: Partial<AuthorizerConfig> = {}): AuthorizerConfig {
  const base = testConfig([cognito, oidc]);
  return {
    ...base,
    issuers: [{ issuer: cognito.issuer, clientIds: ['app-client-1', 'app-client-2'], scopePrefix: PREFIX, jwksUri: cognito.jwksUri }, base.issuers[1]],
    ...overrides,
  };
}

async function outcome(token: string, overrides: Partial<AuthorizerConfig> = {}) {
  const logger = new MemoryLogger();
  const handler = createAuthorizerHandler(config(overrides), { logger });
  try {
    return { result: await handler(requestEvent(`Bearer ${token}`)), codes: logger.codes };
  } catch (error) {
    return { error: (error as Error).message, codes: logger.codes };
  }
}

describe('a Cognito access token', () => {
  it('is allowed with its prefixed scopes mapped to the route spec, its client in the context and no aud', async () => {
    const token = await cognito.signCognitoAccess({ sub: 'machine-1', client_id: 'app-client-2' });
    const { result, codes } = await outcome(token);
    expect(codes).toEqual(['TOKEN_VALID']);
    expect(result?.principalId).toBe(`${cognito.issuer}${USER_ID_SEPARATOR}machine-1`);
    expect(result?.context).toEqual({
      [AUTHORIZER_CONTEXT_KEYS.scopes]: 'orders:read orders:write',
      [AUTHORIZER_CONTEXT_KEYS.clientId]: 'app-client-2',
      [AUTHORIZER_CONTEXT_KEYS.issuer]: cognito.issuer,
    });
    expect(result?.policyDocument.Statement).toEqual([
      {
        Effect: 'Allow',
        Action: 'execute-api:Invoke',
        Resource: [`${API_STAGE_ARN}/GET/orders`, `${API_STAGE_ARN}/GET/orders/*`, `${API_STAGE_ARN}/POST/orders`],
      },
    ]);
  });

  it.each<[string, Record<string, unknown>, string]>([
    [
      'an ID token (token_use id, aud = the app client, no client_id)',
      { token_use: 'id', aud: 'app-client-1', client_id: undefined, scope: undefined, email: 'a@example.com' },
      'TOKEN_USE_INVALID',
    ],
    ['an ID token that also names a trusted client_id', { token_use: 'id', aud: 'app-client-1' }, 'TOKEN_USE_INVALID'],
    ['a token without token_use', { token_use: undefined }, 'TOKEN_USE_INVALID'],
    ['a token of another app client', { client_id: 'someone-elses-client' }, 'TOKEN_CLIENT_UNTRUSTED'],
    ['a token without client_id', { client_id: undefined }, 'TOKEN_CLIENT_UNTRUSTED'],
  ])('is refused (401) when it is %s', async (_name, claims, code) => {
    const { error, codes } = await outcome(await cognito.signCognitoAccess(claims));
    expect(error).toBe(UNAUTHORIZED);
    expect(codes).toEqual([code]);
  });

  it('grants nothing for unprefixed scopes (another resource server, or none): every route is denied (403)', async () => {
    const token = await cognito.signCognitoAccess({ scope: 'orders:read orders:write other-server/orders:read gatehouse/' });
    const { result, codes } = await outcome(token);
    expect(codes).toEqual(['TOKEN_VALID']);
    expect(result?.context?.[AUTHORIZER_CONTEXT_KEYS.scopes]).toBe('');
    expect(result?.policyDocument.Statement).toEqual([{ Effect: 'Deny', Action: 'execute-api:Invoke', Resource: `${API_STAGE_ARN}/*` }]);
    expect(policyAllows(result!.policyDocument, methodArnFor({ method: 'GET', path: '/orders' }))).toBe(false);
  });

  it('keeps the prefixed scopes it knows and drops the rest', async () => {
    const { result } = await outcome(await cognito.signCognitoAccess({ scope: 'gatehouse/products:read openid products:write' }));
    expect(result?.context?.[AUTHORIZER_CONTEXT_KEYS.scopes]).toBe('products:read');
  });
});

describe('the other issuer keeps its shape', () => {
  it('needs its aud: a token of that issuer without it is refused, with it allowed', async () => {
    expect((await outcome(await oidc.sign({ aud: undefined }))).codes).toEqual(['TOKEN_CLAIM_INVALID']);
    const { result } = await outcome(await oidc.sign({ scope: 'orders:read' }));
    expect(result?.context?.[AUTHORIZER_CONTEXT_KEYS.scopes]).toBe('orders:read');
  });

  it('does not need token_use or a client id, and its scopes count unprefixed', async () => {
    const { result } = await outcome(await oidc.sign({ client_id: undefined, token_use: undefined, scope: 'products:read' }));
    expect(result?.context).toEqual({ [AUTHORIZER_CONTEXT_KEYS.scopes]: 'products:read', [AUTHORIZER_CONTEXT_KEYS.issuer]: oidc.issuer });
  });

  it('cannot pass an audience token off as a Cognito one: a Cognito-issuer token checked as Cognito, whatever aud it carries', async () => {
    const { codes } = await outcome(await cognito.sign({ aud: 'gatehouse-api', token_use: undefined }));
    expect(codes).toEqual(['TOKEN_USE_INVALID']);
  });
});

describe('the caller id with several issuers', () => {
  it("makes two issuers' alice two callers, each the same on every request, and {iss}#{sub} splits back", async () => {
    const handler = createAuthorizerHandler(config(), { logger: new MemoryLogger() });
    const fromCognito = await handler(requestEvent(`Bearer ${await cognito.signCognitoAccess({ sub: 'alice' })}`));
    const fromOidc = await handler(requestEvent(`Bearer ${await oidc.sign({ sub: 'alice' })}`));
    const again = await handler(requestEvent(`Bearer ${await oidc.sign({ sub: 'alice', jti: 'another-token' })}`));
    expect(fromCognito.principalId).not.toBe(fromOidc.principalId);
    expect(again.principalId).toBe(fromOidc.principalId);
    for (const [result, source] of [
      [fromCognito, cognito],
      [fromOidc, oidc],
    ] as const) {
      const at = result.principalId.indexOf(USER_ID_SEPARATOR);
      expect([result.principalId.slice(0, at), result.principalId.slice(at + 1)]).toEqual([source.issuer, 'alice']);
    }
  });

  it('keeps the bare sub with one issuer, and qualifies it there too when asked (so adding an issuer later changes no id)', async () => {
    const single = testConfig([oidc]);
    const token = await oidc.sign({ sub: 'alice' });
    expect((await createAuthorizerHandler(single, { logger: new MemoryLogger() })(requestEvent(`Bearer ${token}`))).principalId).toBe('alice');
    const qualified = createAuthorizerHandler({ ...single, userIds: 'issuer-qualified' }, { logger: new MemoryLogger() });
    expect((await qualified(requestEvent(`Bearer ${token}`))).principalId).toBe(`${oidc.issuer}#alice`);
  });
});
