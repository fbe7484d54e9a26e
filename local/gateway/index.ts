/** The local gateway: the route spec served like the deployed REST API, for `npm start` and end-to-end tests. */
export { DEFAULT_INTEGRATION_TIMEOUT_MS, LocalGateway } from './gateway';
export type { LocalGatewayOptions } from './gateway';
export type { LocalTier } from './usage-plans';
export { localGatewayOptionsOf } from './spec-options';
export type { SpecOptions } from './spec-options';
export type { Quota, QuotaPeriod } from './quota';
export type { ServiceResolver } from './upstream';
export { GATEWAY_ERROR_MESSAGES, UPSTREAM_FAILURE_STATUS, gatewayAnswer } from './answers';
export type { GatewayAnswer, GatewayErrorBody, LocalResponseType } from './answers';
export { API_KEY_HEADER } from './proxy-headers';
export { LOCAL_API, methodArn } from './authorizer-event';
export { MAX_BODY_BYTES } from './body-validation';
