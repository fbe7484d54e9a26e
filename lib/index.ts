/** Gatehouse's public API: its constructs, their props, the route spec, and the contracts they share. */
export * from './auth/gatehouse-user-pool';
export * from './auth/jwt-authorizer';
export * from './config';
export * from './data/service-tables';
export * from './data/tables';
export * from './gateway/gateway-errors';
export * from './gateway/microservices-gateway';
export * from './gateway-stack';
export * from './network/gatehouse-network';
export * from './registry/service-registry';
export * from './routes/gatehouse-routes';
export * from './routes/headers';
export * from './routes/route-spec';
export * from './runtime-env';
export * from './service/microservice';
export * from './service/service-bundle';
export type { JwtAlgorithm, AuthorizerConfig, TrustedIssuer, ScopeTable, JwksSettings, UserIdFormat } from '../lambda/authorizer/config';
export { SUPPORTED_ALGORITHMS, AUTHORIZER_CONTEXT_KEYS, USER_ID_SEPARATOR, userIdOf } from '../lambda/authorizer/config';
