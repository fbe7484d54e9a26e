/**
 * Lambda entry point of the JWT authorizer. Configuration is read once, at init: a bad configuration
 * fails the init, so every request fails closed with a 5xx and the log names what is wrong.
 */
import { readAuthorizerConfig } from './config';
import { createAuthorizerHandler } from './handler';

/**
 * The handler Lambda invokes (`index.handler`). The JWKS fetch starts during init, so that it overlaps
 * the rest of the cold start instead of delaying the first request.
 */
export const handler = createAuthorizerHandler(readAuthorizerConfig(process.env), { prefetchKeys: true });
