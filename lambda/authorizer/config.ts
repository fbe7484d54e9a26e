/**
 * The authorizer's configuration as the function reads it from its environment. The contract itself
 * (shape, defaults, validation, encoding, context keys) is declared once in lib/auth/authorizer-contract,
 * which the JwtAuthorizer construct also uses; it is re-exported here so that the handler's modules
 * name one local source.
 */
import type { AuthorizerConfig } from '../../lib/auth/authorizer-contract';
import { AUTHORIZER_CONFIG_ENV, decodeAuthorizerConfig } from '../../lib/auth/authorizer-contract';

export * from '../../lib/auth/authorizer-contract';

/** Reads and validates the configuration from the environment; throws naming what is wrong. */
export function readAuthorizerConfig(env: NodeJS.ProcessEnv): AuthorizerConfig {
  return decodeAuthorizerConfig(env[AUTHORIZER_CONFIG_ENV]);
}
