/** Gatehouse's public API: its constructs, their props, and the route spec. */
export * from './auth/jwt-authorizer';
export * from './routes/route-spec';
export * from './routes/gatehouse-routes';
export type { JwtAlgorithm, AuthorizerConfig, TrustedIssuer, ScopeTable, JwksSettings } from '../lambda/authorizer/config';
export { SUPPORTED_ALGORITHMS, AUTHORIZER_CONTEXT_KEYS } from '../lambda/authorizer/config';
export * from './config';
export * from './gateway-stack';
