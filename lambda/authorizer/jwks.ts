/**
 * One issuer's JWKS: fetched with node:http(s), cached, and handed to jose's createLocalJWKSet, which
 * picks the key for a token's kid and alg and imports it.
 *
 * Why not jose's createRemoteJWKSet: it builds a WHATWG `Headers` when it is created, and on Node that
 * loads the bundled undici (fetch). That alone is about 18 ms of the first request on Node 20, more
 * than all the rest of the authorizer's own cold start (`npm run bench`, cold section). The caching
 * rules are jose's, kept as they are: keys younger than the cache age are used as they are; an
 * unknown kid refetches once the cooldown since the last fetch is over; concurrent refetches share one
 * request; a failed fetch keeps the old keys but is thrown to the request that needed new ones.
 */
import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';
import { isNativeError } from 'node:util/types';
import { createLocalJWKSet } from 'jose';
import { JWKSNoMatchingKey } from 'jose/errors';
import type { CryptoKey, FlattenedJWSInput, JSONWebKeySet, JWSHeaderParameters } from 'jose';
import type { JwksSettings } from './config';
import { JwksUnavailableError } from './errors';

/** A JWKS larger than this is not a key set but a fault or an attack; JWKS documents are a few KB. */
export const MAX_JWKS_BYTES = 512 * 1024;

/** Token headers whose keys are remembered; an issuer signs with a handful, more is someone making them up. */
export const MAX_PICKED_KEYS = 64;

/**
 * Called after a refetch whose JWKS no longer holds keys the previous one held, with their kids
 * (`undefined` for a key without one), so that whatever was trusted because of them can be forgotten.
 */
export type KeysDroppedListener = (kids: ReadonlySet<string | undefined>) => void;

type KeyLookup = ReturnType<typeof createLocalJWKSet>;

/** The keys of one issuer, for jose's jwtVerify as its key resolver. */
export class RemoteKeySet {
  /**
   * Cache "key set": the issuer's JWKS, so a request does not wait for a fetch. Bounded by
   * {@link MAX_JWKS_BYTES}; refetched once older than the cache age or when a token names an unknown kid.
   */
  private local: KeyLookup | undefined;
  private fetchedAt = Number.NEGATIVE_INFINITY;
  private pending: Promise<void> | undefined;
  /** The keys of the current JWKS, as `kid` → what identifies each key's material: to tell which keys a refetch dropped. */
  private published: ReadonlyMap<string | undefined, ReadonlySet<string>> = new Map();
  /**
   * Cache "picked keys": keys jose picked and imported from the current JWKS, by the token's protected header as sent (its
   * base64url text), which holds all that jose's choice depends on (alg, kid). A hit needs no decoding
   * of the header and no search of the set. It is filled before signatures are checked, so anyone can
   * add headers that name a published kid: bounded ({@link MAX_PICKED_KEYS}), emptied when full, and
   * emptied by every refetch, so no key outlives the JWKS it came from.
   */
  private readonly picked = new Map<string, CryptoKey>();

  constructor(
    private readonly url: URL,
    private readonly settings: JwksSettings,
    private readonly now: () => number = Date.now,
    private readonly onKeysDropped?: KeysDroppedListener,
  ) {}

  /**
   * What jwtVerify should check a compact JWS with: the key picked before for its protected header (the
   * text before its first dot) while the keys are fresh, or else {@link getKey}. Handing jwtVerify the
   * key itself saves the copies jose makes of a resolver's result (about 2 µs of an RS256 check).
   */
  keyFor(token: string): CryptoKey | typeof this.getKey {
    const dot = token.indexOf('.');
    return (dot > 0 ? this.pickedFor(token.slice(0, dot)) : undefined) ?? this.getKey;
  }

  /**
   * The key for a token's header (jose's resolver signature), remembered for its protected header.
   * @throws jose's JWKSNoMatchingKey, JWKSMultipleMatchingKeys or JOSENotSupported for a key the token
   * names wrongly; JwksUnavailableError when the keys could not be fetched.
   */
  readonly getKey = (header: JWSHeaderParameters, token: FlattenedJWSInput): Promise<CryptoKey> => this.lookUp(header, token);

  /** The key picked before for a token with this protected header, while the keys are fresh. */
  pickedFor(protectedHeader: string): CryptoKey | undefined {
    return this.local !== undefined && this.age() < this.settings.cacheMaxAgeMs ? this.picked.get(protectedHeader) : undefined;
  }

  private async lookUp(header: JWSHeaderParameters, token: FlattenedJWSInput): Promise<CryptoKey> {
    if (this.local === undefined || this.age() >= this.settings.cacheMaxAgeMs) await this.reload();
    let local = this.local as KeyLookup;
    let key: CryptoKey;
    try {
      key = await local(header, token);
    } catch (error) {
      // A key rotated in since the last fetch: look again, at most once per cooldown.
      if (!(error instanceof JWKSNoMatchingKey && this.age() >= this.settings.cooldownMs)) throw error;
      await this.reload();
      local = this.local as KeyLookup;
      key = await local(header, token);
    }
    // Unless a reload replaced the set meanwhile: its keys are picked afresh.
    if (local === this.local && token.protected !== undefined) {
      if (this.picked.size >= MAX_PICKED_KEYS) this.picked.clear();
      this.picked.set(token.protected, key);
    }
    return key;
  }

  /** Fetches the JWKS now; requests that need keys meanwhile wait for this fetch rather than start another. */
  reload(): Promise<void> {
    this.pending ??= fetchJwks(this.url, this.settings.timeoutMs)
      .then((jwks) => {
        this.local = createLocalJWKSet(jwks);
        this.picked.clear();
        this.fetchedAt = this.now();
        const published = keysOf(jwks);
        const dropped = droppedKeys(this.published, published);
        this.published = published;
        if (dropped.size > 0) this.onKeysDropped?.(dropped);
      })
      .catch((error: unknown) => {
        throw error instanceof JwksUnavailableError ? error : unavailable(this.url, error);
      })
      .finally(() => {
        this.pending = undefined;
      });
    return this.pending;
  }

  private age(): number {
    return this.now() - this.fetchedAt;
  }
}

/** The keys of a JWKS by kid, each as the JSON of its public material (a kid may be reused for new material). */
function keysOf(jwks: JSONWebKeySet): Map<string | undefined, Set<string>> {
  const keys = new Map<string | undefined, Set<string>>();
  for (const jwk of Array.isArray(jwks?.keys) ? jwks.keys : []) {
    const kid = typeof jwk?.kid === 'string' ? jwk.kid : undefined;
    const material = JSON.stringify([jwk?.kty, jwk?.crv, jwk?.n, jwk?.e, jwk?.x, jwk?.y]);
    const forKid = keys.get(kid) ?? new Set<string>();
    forKid.add(material);
    keys.set(kid, forKid);
  }
  return keys;
}

/** The kids whose material `before` had and `after` lacks. */
function droppedKeys(
  before: ReadonlyMap<string | undefined, ReadonlySet<string>>,
  after: ReadonlyMap<string | undefined, ReadonlySet<string>>,
): Set<string | undefined> {
  const dropped = new Set<string | undefined>();
  for (const [kid, materials] of before) {
    const now = after.get(kid);
    for (const material of materials) if (now === undefined || !now.has(material)) dropped.add(kid);
  }
  return dropped;
}

/**
 * GETs a JWKS document. Redirects are not followed (a key set must come from the configured address);
 * anything but a 200 with a JSON body within the size limit and the timeout is an error. Plain events
 * and a timer rather than an AbortSignal and an async iterator: about 1 ms less of a cold start.
 */
function fetchJwks(url: URL, timeoutMs: number): Promise<JSONWebKeySet> {
  const get = url.protocol === 'https:' ? httpsGet : httpGet;
  return new Promise((resolve, reject) => {
    const fail = (error: unknown): void => {
      clearTimeout(timer);
      request.destroy();
      reject(unavailable(url, error));
    };
    const request = get(url, { headers: { accept: 'application/json, application/jwk-set+json' } }, (response) => {
      if (response.statusCode !== 200) {
        fail(new Error(`expected 200 OK, got ${response.statusCode ?? 'no status'}`));
        return;
      }
      const chunks: Buffer[] = [];
      let bytes = 0;
      response.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (bytes > MAX_JWKS_BYTES) fail(new Error(`body exceeds ${MAX_JWKS_BYTES} bytes`));
        else chunks.push(chunk);
      });
      response.on('error', fail);
      response.on('end', () => {
        clearTimeout(timer);
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as JSONWebKeySet);
        } catch (error) {
          reject(unavailable(url, error));
        }
      });
    });
    request.on('error', fail);
    // The whole exchange, body included; unref: a pending fetch must not keep a process alive.
    const timer = setTimeout(() => fail(new Error(`no complete answer within ${timeoutMs} ms`)), timeoutMs).unref();
  });
}

function unavailable(url: URL, cause: unknown): JwksUnavailableError {
  // isNativeError, not instanceof: errors of Node's own modules may come from another realm (a VM context).
  const reason = isNativeError(cause) ? `${cause.name}: ${cause.message}` : String(cause);
  return new JwksUnavailableError(`JWKS at ${url.origin}${url.pathname} could not be fetched or read: ${reason}`, { cause });
}
