/**
 * What the end-to-end suite runs against, read from an outputs file: `.gatehouse/outputs.json` from
 * `npm start`, or the file of `cdk deploy --outputs-file` for a deployed stack. Locally the suite mints
 * its own tokens with the development key; against AWS the user supplies them in the environment.
 */
import * as fs from 'node:fs';
import { DEV_ISSUER, loadOrCreateDevKey, mintDevToken } from '../../local/issuer/dev-issuer';
import type { DevTokenShape } from '../../local/issuer/dev-issuer';

/** A system to test. */
export interface Target {
  /** The base URL, ending with `/`, such as `http://127.0.0.1:8080/v1/`. */
  readonly apiUrl: string;
  /** An API key with room for the functional cases (the `pro` tier). */
  readonly apiKey: string;
  /** The key of the smallest tier, and its burst and rate, for the throttling case. */
  readonly throttled: { readonly apiKey: string; readonly burstLimit: number; readonly rateLimit: number } | undefined;
  /** A token with `scopes` for `sub`; locally of either shape (OIDC with aud, or Cognito's access token). */
  token(sub: string, scopes: readonly string[], shape?: DevTokenShape): Promise<string>;
  /** The local runtime, to kill a process mid-run and watch it come back; absent against AWS. */
  readonly local?: LocalRuntime;
}

/** A service instance of the local runtime, as the outputs file names it now. */
export interface LocalInstance {
  readonly instance: string;
  readonly pid: number;
  readonly url: string;
}

/** What the suite may do to the local runtime. */
export interface LocalRuntime {
  /** The service instances, read afresh from the outputs file (a restarted instance has a new pid). */
  processes(): readonly LocalInstance[];
  /** The embedded registry's endpoint, to see what Cloud Map says. */
  readonly registryEndpoint: string;
  /** The state folder: logs are in `logs/<instance>.log`. */
  readonly stateDir: string;
}

interface Outputs {
  readonly ApiUrl: string;
  readonly Issuer?: string;
  readonly Tiers?: Record<string, { rateLimit: number; burstLimit: number }>;
  readonly Local?: { stateDir: string; registryEndpoint: string; processes: LocalInstance[] };
  readonly [key: string]: unknown;
}

/** Reads the target from an outputs file (the first stack in it). */
export function loadTarget(file: string, env: NodeJS.ProcessEnv = process.env): Target {
  const all = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, Outputs>;
  const outputs = Object.values(all)[0];
  if (outputs === undefined || typeof outputs.ApiUrl !== 'string') throw new Error(`${file} has no ApiUrl output`);
  const apiUrl = outputs.ApiUrl.endsWith('/') ? outputs.ApiUrl : `${outputs.ApiUrl}/`;

  if (outputs.Issuer === DEV_ISSUER && outputs.Local !== undefined) {
    const local = outputs.Local;
    const basic = outputs.Tiers?.basic;
    return {
      apiUrl,
      apiKey: String(outputs.ApiKeypro),
      throttled: basic === undefined ? undefined : { apiKey: String(outputs.ApiKeybasic), burstLimit: basic.burstLimit, rateLimit: basic.rateLimit },
      token: async (sub, scopes, shape) =>
        mintDevToken(await loadOrCreateDevKey(local.stateDir), { sub, scopes, ttlSeconds: 600, ...(shape !== undefined && { shape }) }),
      local: {
        processes: () => Object.values(JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, Outputs>)[0]?.Local?.processes ?? [],
        registryEndpoint: local.registryEndpoint,
        stateDir: local.stateDir,
      },
    };
  }

  // A deployed stack: API key values and tokens are secrets the template does not hold.
  const required = (name: string): string => {
    const value = env[name];
    if (value === undefined || value === '') throw new Error(`set ${name} to run the end-to-end suite against ${apiUrl} (see README, "End-to-end tests")`);
    return value;
  };
  const tokens: Record<string, string> = {
    all: required('GATEHOUSE_E2E_TOKEN'),
    read: required('GATEHOUSE_E2E_TOKEN_PRODUCTS_READ'),
  };
  return {
    apiUrl,
    apiKey: required('GATEHOUSE_E2E_API_KEY'),
    throttled: undefined,
    // Against AWS the subject is the token's own; the suite only needs "every scope" or "products:read".
    token: async (_sub, scopes) => (scopes.length === 1 && scopes[0] === 'products:read' ? tokens.read : tokens.all),
  };
}
