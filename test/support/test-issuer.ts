/**
 * A token issuer for tests: key pairs made in the test, a JWKS served on loopback (port 0), and a
 * switch to make the endpoint misbehave the ways a real IdP can (down, slow, not JSON, HTML, redirect).
 */
import { KeyObject, sign as cryptoSign } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { base64url, exportJWK, generateKeyPair, SignJWT } from 'jose';
import type { CryptoKey, JWK, JWTPayload } from 'jose';

/** How the JWKS endpoint answers. */
export type JwksMode = 'ok' | 'down' | 'slow' | 'not-json' | 'html' | 'redirect' | 'error-500';

/** One signing key of the issuer. */
export interface SigningKey {
  readonly kid: string;
  readonly alg: 'RS256' | 'ES256';
  readonly privateKey: CryptoKey;
  readonly publicKey: CryptoKey;
  readonly publicJwk: JWK;
}

/** Options for signing a test token. */
export interface SignOptions {
  readonly key?: SigningKey;
  /** Header fields to add or override (`kid: undefined` removes the kid). */
  readonly header?: Readonly<Record<string, unknown>>;
  /** Seconds from now until exp; `null` for no exp. */
  readonly expiresIn?: number | null;
  /** The clock the token is made against (seconds). @default - now */
  readonly now?: number;
}

/** A JWKS endpoint on loopback with keys made for the test. */
export class TestIssuer {
  mode: JwksMode = 'ok';
  /** How many times the JWKS has been requested. */
  fetches = 0;
  /** Keys published in the JWKS (a key can sign without being published). */
  published: SigningKey[] = [];
  readonly issuer: string;
  readonly audience = 'gatehouse-api';

  private constructor(
    private readonly server: Server,
    readonly keys: readonly SigningKey[],
    readonly slowMs: number,
  ) {
    const { port } = server.address() as AddressInfo;
    this.issuer = `http://127.0.0.1:${port}`;
    this.published = [...keys];
  }

  /** Starts an issuer with one RS256 and one ES256 key (and more RS256 keys when `extraRsaKeys` > 0). */
  static async start(options: { extraRsaKeys?: number; slowMs?: number } = {}): Promise<TestIssuer> {
    const keys = [await makeKey('rsa-1', 'RS256'), await makeKey('ec-1', 'ES256')];
    for (let index = 0; index < (options.extraRsaKeys ?? 0); index += 1) keys.push(await makeKey(`rsa-${index + 2}`, 'RS256'));
    let issuer: TestIssuer | undefined;
    const server = createServer((request, response) => {
      if (issuer === undefined || request.url !== '/.well-known/jwks.json') {
        response.writeHead(404).end();
        return;
      }
      issuer.handle(response);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    issuer = new TestIssuer(server, keys, options.slowMs ?? 1_500);
    return issuer;
  }

  get jwksUri(): string {
    return `${this.issuer}/.well-known/jwks.json`;
  }

  /** The first key with this algorithm. */
  key(alg: SigningKey['alg'] = 'RS256'): SigningKey {
    const found = this.keys.find((key) => key.alg === alg);
    if (found === undefined) throw new Error(`no ${alg} key`);
    return found;
  }

  /** A signed token with sensible claims; `claims` override them (`undefined` removes one). */
  async sign(claims: Readonly<Record<string, unknown>> = {}, options: SignOptions = {}): Promise<string> {
    const key = options.key ?? this.key();
    const now = options.now ?? Math.floor(Date.now() / 1000);
    const expiresIn = options.expiresIn === undefined ? 300 : options.expiresIn;
    const payload: Record<string, unknown> = {
      iss: this.issuer,
      aud: this.audience,
      sub: 'alice',
      iat: now,
      scope: 'orders:read orders:write',
      client_id: 'test-client',
      ...(expiresIn !== null && { exp: now + expiresIn }),
      ...claims,
    };
    const header: Record<string, unknown> = { alg: key.alg, kid: key.kid, typ: 'JWT', ...options.header };
    for (const name of Object.keys(payload)) if (payload[name] === undefined) delete payload[name];
    for (const name of Object.keys(header)) if (header[name] === undefined) delete header[name];
    return new SignJWT(payload as JWTPayload).setProtectedHeader(header as { alg: string }).sign(key.privateKey);
  }

  /**
   * A token shaped as a Cognito user pool access token: no aud; client_id, token_use `access`, and
   * scopes named `<resource server>/<scope>`. `claims` override (`undefined` removes one).
   */
  async signCognitoAccess(claims: Readonly<Record<string, unknown>> = {}, options: SignOptions = {}): Promise<string> {
    return this.sign(
      {
        aud: undefined,
        client_id: 'app-client-1',
        token_use: 'access',
        scope: 'gatehouse/orders:read gatehouse/orders:write',
        username: undefined,
        jti: 'jti-1',
        ...claims,
      },
      options,
    );
  }

  /**
   * Signs any header and payload bytes with RS256 as they are, so tests can make tokens that jose
   * itself refuses to produce (unknown crit headers, odd payloads).
   */
  signRaw(header: unknown, payload: string, key: SigningKey = this.key('RS256')): string {
    const input = `${base64url.encode(JSON.stringify(header))}.${base64url.encode(payload)}`;
    return `${input}.${base64url.encode(cryptoSign('sha256', Buffer.from(input), KeyObject.from(key.privateKey)))}`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve, reject) => this.server.close((error) => (error ? reject(error) : resolve())));
  }

  private handle(response: import('node:http').ServerResponse): void {
    this.fetches += 1;
    const jwks = JSON.stringify({ keys: this.published.map((key) => key.publicJwk) });
    switch (this.mode) {
      case 'ok':
        response.writeHead(200, { 'content-type': 'application/json' }).end(jwks);
        return;
      case 'down':
        response.socket?.destroy();
        return;
      case 'slow': {
        const timer = setTimeout(() => response.writeHead(200, { 'content-type': 'application/json' }).end(jwks), this.slowMs);
        response.on('close', () => clearTimeout(timer));
        return;
      }
      case 'not-json':
        response.writeHead(200, { 'content-type': 'application/json' }).end('{"keys": [');
        return;
      case 'html':
        response.writeHead(200, { 'content-type': 'text/html' }).end('<html><body>Sign in</body></html>');
        return;
      case 'redirect':
        response.writeHead(302, { location: 'http://127.0.0.1:9/attacker-jwks.json' }).end();
        return;
      case 'error-500':
        response.writeHead(500).end();
        return;
    }
  }
}

async function makeKey(kid: string, alg: SigningKey['alg']): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { kid, alg, privateKey, publicKey, publicJwk };
}
