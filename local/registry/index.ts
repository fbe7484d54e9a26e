/** The embedded Cloud Map-compatible registry of the local runtime. */
export { LocalRegistry, MAX_REQUEST_BYTES } from './registry';
export type { LocalRegistryOptions, RegistryServiceSpec } from './registry';
export { AWS_JSON_CONTENT_TYPE, TARGET_PREFIX } from './operations';
export { HealthChecker, httpProbe, resolveHealthCheck } from './health-check';
export type { HealthCheckOptions, HealthProbe } from './health-check';
