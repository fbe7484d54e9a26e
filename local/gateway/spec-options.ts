/**
 * The local gateway's options from the gateway spec (lib/routes/gateway-spec.ts): the same spec the
 * CDK gateway renders (lib/gateway/microservices-gateway.ts gatewayPropsOf), used here as it is.
 */
import type { GatewaySpec } from '../../lib/routes/gateway-spec';
import type { LocalGatewayOptions } from './gateway';

/** The options of {@link LocalGateway.start} that the gateway spec sets. */
export type SpecOptions = Required<
  Pick<LocalGatewayOptions, 'stageName' | 'stageThrottle' | 'apiKeySource' | 'integrationTimeoutMs' | 'authorizerCacheTtlSeconds'>
> &
  Pick<LocalGatewayOptions, 'cors'>;

/** The stage, stage throttle, API key source, integration timeout, authorizer cache TTL and CORS of `spec`; its tiers come with their keys. */
export function localGatewayOptionsOf(spec: GatewaySpec): SpecOptions {
  return {
    stageName: spec.stageName,
    stageThrottle: spec.throttle,
    apiKeySource: spec.apiKeySource,
    integrationTimeoutMs: spec.integrationTimeoutMs,
    authorizerCacheTtlSeconds: spec.authorizerCacheTtlSeconds,
    ...(spec.cors !== undefined && { cors: spec.cors }),
  };
}
