/**
 * Lambda entry point of the JWT authorizer. Configuration is read once, at init: a bad configuration
 * fails the init, so every request fails closed with a 5xx and the log names what is wrong.
 */
import { readAuthorizerConfig } from './config';
import { createAuthorizerHandler } from './handler';

/** The handler Lambda invokes (`index.handler`). */
export const handler = createAuthorizerHandler(readAuthorizerConfig(process.env));
