/**
 * `npm run token -- --sub alice --scope "orders:read orders:write" [--ttl 3600] [--cognito]`: mints a
 * token of the local development issuer and prints it alone on stdout, so scripts can capture it.
 * `--cognito` mints one shaped as a Cognito user pool's access token (no aud; client_id, token_use,
 * `gatehouse/`-prefixed scopes), which `npm start` trusts as well.
 */
import { parseArgs } from 'node:util';
import { loadOrCreateDevKey, mintDevToken } from './issuer/dev-issuer';
import { DEFAULT_STATE_DIR } from './state';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      sub: { type: 'string', default: 'dev-user' },
      scope: { type: 'string', default: '' },
      ttl: { type: 'string', default: '3600' },
      'state-dir': { type: 'string', default: DEFAULT_STATE_DIR },
      cognito: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const ttlSeconds = Number(values.ttl);
  const key = await loadOrCreateDevKey(values['state-dir']);
  const scopes = values.scope.split(/\s+/).filter((scope) => scope.length > 0);
  process.stdout.write(`${await mintDevToken(key, { sub: values.sub, scopes, ttlSeconds, shape: values.cognito ? 'cognito' : 'oidc' })}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`token: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(2);
});
