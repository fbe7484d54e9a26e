/**
 * The development issuer of the local runtime: one ES256 key pair kept in the state folder (so tokens
 * minted by `npm run token` verify against the running system), a JWKS endpoint on loopback, and a
 * minting function. For local use only: it signs whatever it is asked to.
 */
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { exportJWK, generateKeyPair, importJWK, SignJWT } from 'jose';
import type { CryptoKey, JWK } from 'jose';
import type { TrustedIssuer } from '../../lib/auth/authorizer-contract';
import { RESOURCE_SERVER_IDENTIFIER } from '../../lib/routes/gatehouse-routes';

/** The issuer and audience of development tokens. */
export const DEV_ISSUER = 'urn:gatehouse:dev-issuer';
export const DEV_AUDIENCE = 'gatehouse-api';

/**
 * The second development issuer, whose tokens have the shape of a Cognito user pool's access tokens
 * (no aud; client_id, token_use `access`, scopes `gatehouse/<scope>`), signed with the same key, so
 * that the local runtime checks both shapes as the deployed authorizer does.
 */
export const DEV_COGNITO_ISSUER = 'urn:gatehouse:dev-cognito';
/** The app client id of Cognito-shaped development tokens. */
export const DEV_COGNITO_CLIENT_ID = 'gatehouse-dev-machine-client';

/** The shape of a development token: an OIDC access token with aud, or a Cognito access token. */
export type DevTokenShape = 'oidc' | 'cognito';

/** The Cognito-shaped development issuer as the authorizer trusts it, its keys at `jwksUri`. */
export function devCognitoIssuer(jwksUri: string): TrustedIssuer {
  return { issuer: DEV_COGNITO_ISSUER, clientIds: [DEV_COGNITO_CLIENT_ID], scopePrefix: `${RESOURCE_SERVER_IDENTIFIER}/`, jwksUri };
}

const KEY_FILE = 'dev-issuer-key.json';
const ALGORITHM = 'ES256';

/** The development signing key. */
export interface DevKey {
  readonly kid: string;
  readonly privateKey: CryptoKey;
  readonly publicJwk: JWK;
}

/** Loads the key pair from `stateDir`, making (and saving) one the first time. */
export async function loadOrCreateDevKey(stateDir: string): Promise<DevKey> {
  const file = path.join(stateDir, KEY_FILE);
  if (!fs.existsSync(file)) {
    const { privateKey } = await generateKeyPair(ALGORITHM, { extractable: true });
    const jwk = { ...(await exportJWK(privateKey)), kid: `dev-${Date.now().toString(36)}`, alg: ALGORITHM, use: 'sig' };
    fs.mkdirSync(stateDir, { recursive: true });
    // The private key stays readable by its owner only.
    fs.writeFileSync(file, JSON.stringify(jwk), { mode: 0o600 });
  }
  const jwk = JSON.parse(fs.readFileSync(file, 'utf8')) as JWK & { kid: string };
  const privateKey = (await importJWK(jwk, ALGORITHM)) as CryptoKey;
  const { d: _private, ...publicJwk } = jwk;
  return { kid: jwk.kid, privateKey, publicJwk };
}

/** What a development token says. */
export interface DevTokenClaims {
  readonly sub: string;
  readonly scopes: readonly string[];
  /** Lifetime in seconds. */
  readonly ttlSeconds: number;
  /** @default - 'oidc' */
  readonly shape?: DevTokenShape;
  /**
   * More string claims, such as the `usageIdentifierClaim` that carries a client's API key when the
   * gateway reads keys from the authorizer (`apiKeySource: AUTHORIZER`).
   * @default - none
   */
  readonly extraClaims?: Readonly<Record<string, string>>;
}

/** Signs a development access token. */
export async function mintDevToken(key: DevKey, claims: DevTokenClaims): Promise<string> {
  if (claims.sub.length === 0) throw new Error('sub must not be empty');
  if (!(Number.isInteger(claims.ttlSeconds) && claims.ttlSeconds > 0 && claims.ttlSeconds <= 30 * 24 * 3600)) {
    throw new Error(`ttl must be whole seconds from 1 to 2592000 (30 days), got ${claims.ttlSeconds}`);
  }
  if (claims.shape === 'cognito') {
    // As a Cognito user pool signs an access token: no aud, no typ header.
    return new SignJWT({
      ...claims.extraClaims,
      scope: claims.scopes.map((scope) => `${RESOURCE_SERVER_IDENTIFIER}/${scope}`).join(' '),
      client_id: DEV_COGNITO_CLIENT_ID,
      token_use: 'access',
      jti: randomUUID(),
    })
      .setProtectedHeader({ alg: ALGORITHM, kid: key.kid })
      .setIssuer(DEV_COGNITO_ISSUER)
      .setSubject(claims.sub)
      .setIssuedAt()
      .setExpirationTime(`${claims.ttlSeconds}s`)
      .sign(key.privateKey);
  }
  return new SignJWT({ ...claims.extraClaims, scope: claims.scopes.join(' '), client_id: 'gatehouse-dev' })
    .setProtectedHeader({ alg: ALGORITHM, kid: key.kid, typ: 'at+jwt' })
    .setIssuer(DEV_ISSUER)
    .setAudience(DEV_AUDIENCE)
    .setSubject(claims.sub)
    .setIssuedAt()
    .setExpirationTime(`${claims.ttlSeconds}s`)
    .sign(key.privateKey);
}

/** The JWKS endpoint of the development issuer. */
export class DevIssuer {
  private constructor(
    private readonly server: Server,
    readonly jwksUri: string,
    readonly key: DevKey,
  ) {}

  /** Serves the key's JWKS on loopback (port 0 unless given). */
  static async start(stateDir: string, port = 0): Promise<DevIssuer> {
    const key = await loadOrCreateDevKey(stateDir);
    const body = JSON.stringify({ keys: [key.publicJwk] });
    const server = createServer((request, response) => {
      if (request.method === 'GET' && request.url === '/.well-known/jwks.json') response.writeHead(200, { 'content-type': 'application/json' }).end(body);
      else response.writeHead(404).end();
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    return new DevIssuer(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`, key);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
