/**
 * What every cold-start entry shares: the inputs the parent passes in the environment, and the one
 * line it reports. Kept tiny, since it is bundled into every candidate and counted in its size.
 */

/** The parent's inputs: one token and where its issuer's keys are. */
export interface ColdInputs {
  readonly token: string;
  readonly issuer: string;
  readonly audience: string;
  readonly jwksUri: string;
  readonly alg: 'RS256' | 'ES256';
}

/** Reads the inputs; a missing one is a bug in bench/cold-start.ts, so it throws. */
export function coldInputs(): ColdInputs {
  const read = (name: string): string => {
    const value = process.env[name];
    if (value === undefined || value === '') throw new Error(`${name} is not set`);
    return value;
  };
  const alg = read('BENCH_ALG');
  if (alg !== 'RS256' && alg !== 'ES256') throw new Error(`BENCH_ALG must be RS256 or ES256, got ${alg}`);
  return { token: read('BENCH_TOKEN'), issuer: read('BENCH_ISSUER'), audience: read('BENCH_AUDIENCE'), jwksUri: read('BENCH_JWKS_URI'), alg };
}

/**
 * Reports ms since the process started (Node's timeOrigin: bootstrap, module load, init and the first
 * verification with its JWKS fetch), on a line of its own that the parent picks out of any log lines.
 */
export function report(verified: Promise<unknown>): void {
  verified
    .then(() => process.stdout.write(`BENCH ${JSON.stringify({ ms: performance.now() })}\n`))
    .catch((error: unknown) => {
      process.stderr.write(`cold entry failed: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    });
}
