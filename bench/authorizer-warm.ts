/**
 * Warm authorizer benchmark: µs per verification of the Gatehouse handler against plain jose, aws-jwt-verify,
 * jsonwebtoken + jwks-rsa and the floor (node:crypto verify), for RS256 and ES256. Every candidate sees
 * the same pre-signed, distinct tokens, so no library can answer from a cache of its own; candidates
 * run interleaved in shuffled order each round; the median round is reported, and ratios are taken
 * round by round.
 *
 * Run alone (`node --import tsx bench/authorizer-warm.ts --json`) it prints its results as JSON, which
 * is how bench/run.ts re-runs it pinned to one core under `taskset`.
 */
import { spawn } from 'node:child_process';
import { KeyObject, verify as cryptoVerify } from 'node:crypto';
import { JwtVerifier as AwsJwtVerifier } from 'aws-jwt-verify';
import jsonwebtoken from 'jsonwebtoken';
import { JwksClient } from 'jwks-rsa';
import { jwtVerify } from 'jose';
import { createAuthorizerHandler } from '../lambda/authorizer/handler';
import { createJsonLogger, lineWriter } from '../lambda/authorizer/logger';
import type { Logger } from '../lambda/authorizer/logger';
import { requestEvent, testConfig } from '../test/support/authorizer';
import { TestIssuer } from '../test/support/test-issuer';
import type { SigningKey } from '../test/support/test-issuer';
import { median } from './stats';

/** Settings of the warm section. */
export interface WarmSettings {
  /** Distinct tokens per algorithm; each round verifies every one of them once per candidate. */
  readonly tokens: number;
  /** Measured rounds; the median is reported. */
  readonly rounds: number;
  /** Untimed passes over the tokens per candidate before the first measured round. */
  readonly warmupPasses: number;
}

/** One row of the warm section. */
export interface WarmRow {
  readonly alg: SigningKey['alg'];
  readonly candidate: string;
  /** Median µs per verification over the rounds. */
  readonly usPerOp: number;
  /**
   * Ratio to plain jose with a pre-imported key, same algorithm: the median over rounds of this
   * candidate's time over jose's in the same round, so that a slow stretch of the machine, which
   * slows both, does not show as a difference.
   */
  readonly vsJose: number;
}

/**
 * The default settings: about 15 s on a 2-core machine. Ten warm-up passes (4,000 calls) because the
 * handler's code reaches V8's optimizing tier only after a few thousand calls: with one pass, the first
 * measured rounds timed the JIT (the handler's rounds fell from 350 to 55 µs over the first ten).
 */
export const WARM_DEFAULTS: WarmSettings = { tokens: 400, rounds: 15, warmupPasses: 10 };

type Verify = (token: string) => Promise<unknown> | unknown;

/**
 * The handler logs as deployed: a JSON line per request written to a pipe, as Lambda's stdout is, here
 * one to a `cat` into /dev/null, since this process's stdout carries the results. That line is part
 * of every request's cost (about 4 µs onto a pipe), so it is measured.
 */
function deployedLogger(): { logger: Logger; close: () => Promise<void> } {
  const sink = spawn('sh', ['-c', 'cat > /dev/null'], { stdio: ['pipe', 'ignore', 'inherit'] });
  const exited = new Promise<void>((resolve) => sink.once('close', () => resolve()));
  return {
    logger: createJsonLogger(lineWriter(sink.stdin)),
    close: async () => {
      sink.stdin.end();
      await exited;
    },
  };
}

/** Runs the warm section in this process. */
export async function runWarm(settings: WarmSettings = WARM_DEFAULTS): Promise<WarmRow[]> {
  const issuer = await TestIssuer.start();
  const logging = deployedLogger();
  try {
    const rows: WarmRow[] = [];
    for (const alg of ['RS256', 'ES256'] as const) rows.push(...(await runAlgorithm(issuer, alg, settings, logging.logger)));
    return rows;
  } finally {
    await Promise.all([issuer.close(), logging.close()]);
  }
}

async function runAlgorithm(issuer: TestIssuer, alg: SigningKey['alg'], settings: WarmSettings, logger: Logger): Promise<WarmRow[]> {
  const key = issuer.key(alg);
  const tokens: string[] = [];
  // A jti per token makes every signature distinct, so a cache keyed by token never hits.
  for (let index = 0; index < settings.tokens; index += 1) tokens.push(await issuer.sign({ jti: `bench-${alg}-${index}` }, { key, expiresIn: 3600 }));
  const repeated = new Array<string>(settings.tokens).fill(tokens[0]);

  // The same tokens come back every round, so the distinct-token row runs a handler without its cache
  // of verified tokens: that is the path every new token takes in production. The repeated-token row
  // runs the handler as deployed, cache on.
  const handler = createAuthorizerHandler(testConfig([issuer]), { logger, verifiedTokenCacheSize: 0 });
  const cachingHandler = createAuthorizerHandler(testConfig([issuer]), { logger });
  const events = new Map(tokens.map((token) => [token, requestEvent(`Bearer ${token}`)]));
  const repeatedEvent = requestEvent(`Bearer ${tokens[0]}`);

  const aws = AwsJwtVerifier.create({ issuer: issuer.issuer, audience: issuer.audience, jwksUri: issuer.jwksUri });
  // aws-jwt-verify fetches only over https, so it is given the same JWKS the loopback issuer serves.
  aws.cacheJwks({ keys: issuer.published.map((published) => published.publicJwk) } as Parameters<typeof aws.cacheJwks>[0]);

  const jwks = new JwksClient({ jwksUri: issuer.jwksUri, cache: true, rateLimit: false });
  const keyObject: KeyObject = KeyObject.from(key.publicKey);

  const candidates: Record<string, { verify: Verify; tokens: readonly string[] }> = {
    'gatehouse handler': { verify: (token) => handler(events.get(token) ?? requestEvent(`Bearer ${token}`)), tokens },
    'jose jwtVerify (pre-imported key)': {
      verify: (token) => jwtVerify(token, key.publicKey, { issuer: issuer.issuer, audience: issuer.audience, algorithms: [alg] }),
      tokens,
    },
    'aws-jwt-verify': { verify: (token) => aws.verify(token), tokens },
    'jsonwebtoken + jwks-rsa': {
      verify: async (token) => {
        const decoded = jsonwebtoken.decode(token, { complete: true });
        const signing = await jwks.getSigningKey(decoded?.header.kid);
        return jsonwebtoken.verify(token, signing.getPublicKey(), { algorithms: [alg], issuer: issuer.issuer, audience: issuer.audience });
      },
      tokens,
    },
    'node:crypto verify (floor)': {
      verify: (token) => {
        const dot = token.lastIndexOf('.');
        const ok = cryptoVerify(
          'sha256',
          Buffer.from(token.slice(0, dot)),
          { key: keyObject, dsaEncoding: 'ieee-p1363' },
          Buffer.from(token.slice(dot + 1), 'base64url'),
        );
        if (!ok) throw new Error('bad signature');
        return ok;
      },
      tokens,
    },
    // The same token again: what a warm Lambda sees when API Gateway's cache entry expires before the token.
    'gatehouse handler, repeated token': { verify: () => cachingHandler(repeatedEvent), tokens: repeated },
    'aws-jwt-verify, repeated token': { verify: (token) => aws.verify(token), tokens: repeated },
  };

  const names = Object.keys(candidates);
  // Untimed passes fetch JWKS, fill key caches and let the JIT settle; the first proves each candidate accepts the tokens.
  for (let warmup = 0; warmup < settings.warmupPasses; warmup += 1) {
    for (const name of names) await pass(candidates[name].verify, candidates[name].tokens);
  }
  const samples = new Map<string, number[]>(names.map((name) => [name, []]));
  for (let round = 0; round < settings.rounds; round += 1) {
    for (const name of shuffle([...names])) samples.get(name)?.push(await pass(candidates[name].verify, candidates[name].tokens));
  }
  const jose = samples.get('jose jwtVerify (pre-imported key)') ?? [];
  return names.map((name) => {
    const rounds = samples.get(name) ?? [];
    const ratios = rounds.map((us, round) => us / jose[round]);
    return { alg, candidate: name, usPerOp: round2(median(rounds)), vsJose: round2(median(ratios)) };
  });
}

/** µs per verification over one pass of the tokens. */
async function pass(verify: Verify, tokens: readonly string[]): Promise<number> {
  const started = process.hrtime.bigint();
  for (const token of tokens) await verify(token);
  return Number(process.hrtime.bigint() - started) / 1_000 / tokens.length;
}

function shuffle<T>(items: T[]): T[] {
  for (let index = items.length - 1; index > 0; index -= 1) {
    const other = Math.floor(Math.random() * (index + 1));
    [items[index], items[other]] = [items[other], items[index]];
  }
  return items;
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

if (require.main === module && process.argv.includes('--json')) {
  runWarm()
    .then((rows) => process.stdout.write(`${JSON.stringify(rows)}\n`))
    .catch((error: unknown) => {
      process.stderr.write(`authorizer-warm: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    });
}
