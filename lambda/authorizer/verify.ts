/**
 * JWT verification with jose: with several issuers, the issuer is picked from the unverified `iss`;
 * the token is verified against that issuer's JWKS, audience, algorithms and clock. Errors are sorted into "the
 * token is bad" (TokenRejectedError) and "the keys could not be had" (JwksUnavailableError).
 */
import { decodeJwt, jwtVerify } from 'jose';
import { JOSEError, JWTClaimValidationFailed } from 'jose/errors';
import type { JWTPayload, JWTVerifyOptions } from 'jose';
import type { AuthorizerConfig, TrustedIssuer } from './config';
import { JwksUnavailableError, TokenRejectedError } from './errors';
import type { RejectionCode } from './errors';
import { RemoteKeySet } from './jwks';

/** What a verified token says about its caller. */
export interface VerifiedToken {
  readonly subject: string;
  readonly issuer: string;
  readonly scopes: readonly string[];
  readonly clientId?: string;
  readonly usageIdentifierKey?: string;
}

/** Seams for tests and the local runtime. */
export interface VerifierOptions {
  /** The current time. @default - the system clock */
  readonly clock?: () => Date;
  /** How many verified tokens to remember. @default - 1000 */
  readonly verifiedTokenCacheSize?: number;
}

/** The time claims of a verified token that a later clock can fail, re-checked on every cache hit. */
interface TimeClaims {
  readonly exp: number;
  readonly nbf?: number;
}

interface VerifiedEntry {
  readonly caller: VerifiedToken;
  readonly times: TimeClaims;
  readonly verifiedAt: number;
  /** The `kid` of the key the token was verified with (`undefined`: the token named none). */
  readonly kid: string | undefined;
}

/**
 * Cache "verified tokens": tokens verified before, keyed by the whole token string. A repeat (the same
 * token after API Gateway's cache entry expired, or on another route) skips the signature check
 * (about 30 µs of RS256) but never the clock. Bounded in entries (oldest dropped first) and in age by
 * the JWKS cache age, since a hit never consults the key set and so never triggers its refetch; and
 * when a refetch drops a key, the tokens verified with it are forgotten at once.
 */
class VerifiedTokens {
  private readonly entries = new Map<string, VerifiedEntry>();

  constructor(
    private readonly maxEntries: number,
    private readonly maxAgeMs: number,
  ) {}

  /** How many tokens are remembered. */
  get size(): number {
    return this.entries.size;
  }

  get(token: string, nowMs: number): VerifiedEntry | undefined {
    if (this.maxEntries === 0) return undefined;
    const entry = this.entries.get(token);
    if (entry === undefined) return undefined;
    if (nowMs - entry.verifiedAt >= this.maxAgeMs) {
      this.entries.delete(token);
      return undefined;
    }
    return entry;
  }

  set(token: string, entry: VerifiedEntry): void {
    if (this.maxEntries === 0) return;
    // Map keeps insertion order: the first key is the oldest entry.
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(token, entry);
  }

  /**
   * Forgets the tokens of `issuer` verified with a dropped key. A token without a kid was checked with
   * whichever key jose picked, so any dropped key of its issuer forgets it too. Rare (a key rotation),
   * and the map is bounded: a scan.
   */
  dropKeys(issuer: string, kids: ReadonlySet<string | undefined>): void {
    for (const [token, entry] of this.entries) {
      if (entry.caller.issuer === issuer && (entry.kid === undefined || kids.has(entry.kid))) this.entries.delete(token);
    }
  }
}

interface IssuerKeys {
  readonly trusted: TrustedIssuer;
  readonly keys: RemoteKeySet;
  /**
   * jwtVerify's options for this issuer, built once. `currentDate` is declared, as undefined, so that
   * the copy made per token with the clock filled in keeps the same object shape: adding the property
   * to the copy instead cost about 3 µs a verification in V8 (8% of an RS256 check).
   */
  readonly checks: JWTVerifyOptions;
}

/** Verifies tokens against the configured issuers; one instance per process, so JWKS stay cached. */
export class JwtVerifier {
  private readonly issuers: ReadonlyMap<string, IssuerKeys>;
  /** The issuer when there is only one: its keys need no look at the unverified token first. */
  private readonly onlyIssuer: IssuerKeys | undefined;
  private readonly clock: () => Date;
  private readonly verified: VerifiedTokens;
  /** Signature checks done (cache misses), for tests and benchmarks. */
  signatureChecks = 0;

  /** How many verified tokens are remembered, for tests of the bound. */
  get cachedTokens(): number {
    return this.verified.size;
  }

  constructor(
    private readonly config: AuthorizerConfig,
    options: VerifierOptions = {},
  ) {
    this.clock = options.clock ?? (() => new Date());
    this.verified = new VerifiedTokens(options.verifiedTokenCacheSize ?? 1000, config.jwks.cacheMaxAgeMs);
    this.issuers = new Map(
      config.issuers.map((trusted) => [
        trusted.issuer,
        {
          trusted,
          // The keys age on the same clock as the tokens, so that a test can move both.
          keys: new RemoteKeySet(
            new URL(trusted.jwksUri),
            config.jwks,
            () => this.clock().getTime(),
            (kids) => this.verified.dropKeys(trusted.issuer, kids),
          ),
          checks: {
            issuer: trusted.issuer,
            // Cognito access tokens have no aud: their client_id is checked after jwtVerify instead.
            audience: trusted.audience === undefined ? undefined : [...trusted.audience],
            algorithms: [...config.algorithms],
            clockTolerance: config.clockToleranceSeconds,
            requiredClaims: ['exp', 'sub'],
            ...(config.tokenType !== undefined && { typ: config.tokenType }),
            currentDate: undefined,
          },
        },
      ]),
    );
    this.onlyIssuer = this.issuers.size === 1 ? [...this.issuers.values()][0] : undefined;
  }

  /**
   * Verifies a compact JWS and returns its caller.
   * @throws TokenRejectedError for any token that is not valid; JwksUnavailableError when keys cannot be fetched.
   */
  async verify(token: string): Promise<VerifiedToken> {
    const now = this.clock();
    const known = this.verified.get(token, now.getTime());
    if (known !== undefined) {
      this.checkTimes(known.times, now);
      return known.caller;
    }
    // With several issuers, the unverified iss picks whose keys to check the token with. With one,
    // jwtVerify checks iss itself, after the signature, and the token is read only if it fails.
    const issuer = this.onlyIssuer ?? this.issuers.get(unverifiedIssuer(token));
    if (issuer === undefined) throw new TokenRejectedError('TOKEN_ISSUER_UNTRUSTED', 'iss is not a trusted issuer');
    this.signatureChecks += 1;
    let payload: JWTPayload;
    let kid: string | undefined;
    try {
      ({
        payload,
        protectedHeader: { kid },
      } = await jwtVerify(token, issuer.keys.keyFor(token), { ...issuer.checks, currentDate: now }));
    } catch (error) {
      const classified = classify(error);
      // A token of another issuer fails the one issuer's keys or its iss check: named for what it is.
      if (classified instanceof TokenRejectedError && issuer === this.onlyIssuer && unverifiedIssuer(token) !== issuer.trusted.issuer) {
        throw new TokenRejectedError('TOKEN_ISSUER_UNTRUSTED', 'iss is not the trusted issuer', { cause: error });
      }
      throw classified;
    }
    const caller = this.caller(payload, issuer.trusted.issuer, now);
    // jose required exp and checked the types of exp, nbf and iat.
    const times = { exp: payload.exp as number, ...(payload.nbf !== undefined && { nbf: payload.nbf }) };
    this.verified.set(token, { caller, times, verifiedAt: now.getTime(), kid: typeof kid === 'string' ? kid : undefined });
    return caller;
  }

  /** Starts fetching every issuer's JWKS, so that the first request does not wait for it. Never throws. */
  async prefetchKeys(): Promise<void> {
    await Promise.allSettled([...this.issuers.values()].map((issuer) => issuer.keys.reload()));
  }

  /** The clock checks of jose's jwtVerify, for a token whose signature and claims were verified before. */
  private checkTimes(times: TimeClaims, now: Date): void {
    const seconds = Math.floor(now.getTime() / 1000);
    const tolerance = this.config.clockToleranceSeconds;
    if (times.exp <= seconds - tolerance) throw new TokenRejectedError('TOKEN_EXPIRED', '"exp" claim timestamp check failed');
    if (times.nbf !== undefined && times.nbf > seconds + tolerance) throw new TokenRejectedError('TOKEN_CLAIM_INVALID', '"nbf" claim timestamp check failed');
  }

  private caller(payload: JWTPayload, issuer: string, now: Date): VerifiedToken {
    const { sub, iat } = payload;
    if (typeof sub !== 'string' || sub.length === 0) throw new TokenRejectedError('TOKEN_CLAIM_INVALID', 'sub must be a non-empty string');
    // jose checks iat against the clock only with maxTokenAge; a token issued in the future is not valid yet.
    if (iat !== undefined && iat > now.getTime() / 1000 + this.config.clockToleranceSeconds) {
      throw new TokenRejectedError('TOKEN_CLAIM_INVALID', 'iat is in the future');
    }
    const trusted = this.issuers.get(issuer)?.trusted;
    if (trusted?.clientIds !== undefined) checkCognitoAccessToken(payload, trusted.clientIds);
    const clientId = stringClaim(payload.client_id) ?? stringClaim(payload.azp);
    const claim = this.config.usageIdentifierClaim;
    const usageIdentifierKey = claim === undefined ? undefined : stringClaim(payload[claim]);
    return {
      subject: sub,
      issuer,
      scopes: scopesOf(payload, trusted?.scopePrefix),
      ...(clientId !== undefined && { clientId }),
      ...(usageIdentifierKey !== undefined && { usageIdentifierKey }),
    };
  }
}

/** The `iss` of a token whose signature is not checked yet: only to choose which keys to check it with. */
function unverifiedIssuer(token: string): string {
  let payload: JWTPayload;
  try {
    payload = decodeJwt(token);
  } catch (error) {
    throw new TokenRejectedError('TOKEN_MALFORMED', 'token payload is not a JSON object', { cause: error });
  }
  if (typeof payload.iss !== 'string') throw new TokenRejectedError('TOKEN_ISSUER_UNTRUSTED', 'token has no iss');
  return payload.iss;
}

const JOSE_CODES: Readonly<Record<string, RejectionCode>> = {
  ERR_JWT_EXPIRED: 'TOKEN_EXPIRED',
  ERR_JWT_CLAIM_VALIDATION_FAILED: 'TOKEN_CLAIM_INVALID',
  ERR_JOSE_ALG_NOT_ALLOWED: 'TOKEN_ALG_NOT_ALLOWED',
  ERR_JWS_SIGNATURE_VERIFICATION_FAILED: 'TOKEN_SIGNATURE_INVALID',
  ERR_JWS_INVALID: 'TOKEN_MALFORMED',
  ERR_JWT_INVALID: 'TOKEN_MALFORMED',
  ERR_JOSE_NOT_SUPPORTED: 'TOKEN_UNSUPPORTED',
  // From the JWKS lookup: the token names a key the issuer does not publish, or names none of several.
  ERR_JWKS_NO_MATCHING_KEY: 'TOKEN_KEY_UNKNOWN',
  ERR_JWKS_MULTIPLE_MATCHING_KEYS: 'TOKEN_KEY_AMBIGUOUS',
};

/** Maps what jwtVerify threw to our errors; anything unforeseen is rethrown as is (a 5xx, never an allow). */
function classify(error: unknown): unknown {
  if (error instanceof TokenRejectedError || error instanceof JwksUnavailableError) return error;
  if (error instanceof JOSEError) {
    if (error instanceof JWTClaimValidationFailed && error.claim === 'typ') {
      return new TokenRejectedError('TOKEN_TYPE_INVALID', 'typ header is not the required token type', { cause: error });
    }
    const code = JOSE_CODES[error.code];
    if (code !== undefined) return new TokenRejectedError(code, error.message, { cause: error });
  }
  return error;
}

function stringClaim(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/**
 * What a Cognito user pool's access token must say beyond iss, signature and time: `token_use` is
 * `access` (an ID token says `id`: it proves who signed in, not what an app may call) and `client_id`
 * is one of the app clients this API trusts ("Understanding the access token", Amazon Cognito guide).
 */
function checkCognitoAccessToken(payload: JWTPayload, clientIds: readonly string[]): void {
  const use = payload.token_use;
  if (use !== 'access') {
    throw new TokenRejectedError(
      'TOKEN_USE_INVALID',
      use === undefined ? 'token_use is missing; an access token is required' : `token_use is ${JSON.stringify(use)}; an access token is required`,
    );
  }
  const clientId = payload.client_id;
  if (typeof clientId !== 'string' || !clientIds.includes(clientId))
    throw new TokenRejectedError('TOKEN_CLIENT_UNTRUSTED', 'client_id is not a trusted app client');
}

/**
 * Scopes from `scope` (RFC 8693/9068: space-separated) or `scp` (a list, as Okta and Entra ID send).
 * With a prefix, only the scopes that carry it count, and without it (`gatehouse/orders:read` is `orders:read`).
 */
function scopesOf(payload: JWTPayload, prefix: string | undefined): string[] {
  const { scope, scp } = payload;
  const raw = typeof scope === 'string' ? scope.split(' ') : Array.isArray(scp) ? scp : typeof scp === 'string' ? scp.split(' ') : [];
  const named = raw.filter((entry): entry is string => typeof entry === 'string' && entry.length > 0);
  const scopes =
    prefix === undefined ? named : named.filter((entry) => entry.startsWith(prefix) && entry.length > prefix.length).map((entry) => entry.slice(prefix.length));
  return [...new Set(scopes)];
}
