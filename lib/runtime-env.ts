/**
 * Environment variables of the service containers: the CDK constructs set them, the services read
 * them, the local runtime sets them for its processes. Declared once, here.
 */
export const SERVICE_ENV = {
  /** Port the service listens on. */
  port: 'PORT',
  /** Interface the service binds. */
  host: 'HOST',
  /** Products table (product service). */
  productsTable: 'PRODUCTS_TABLE',
  /** Orders table (order service). */
  ordersTable: 'ORDERS_TABLE',
  /** Budget of each order request in ms, under the gateway's integration timeout (order service). */
  requestDeadlineMs: 'REQUEST_DEADLINE_MS',
  /** How long a request holds the lease of the order it places, in ms (order service). */
  orderLeaseMs: 'ORDER_LEASE_MS',
  /** How often the reservation sweeper runs, in ms; 0 turns it off (order service). */
  sweepIntervalMs: 'SWEEP_INTERVAL_MS',
  /** DynamoDB endpoint override (dynalite locally); unset on AWS. */
  dynamodbEndpoint: 'DYNAMODB_ENDPOINT',
  /** Cloud Map namespace to discover services in (order service). */
  discoveryNamespace: 'DISCOVERY_NAMESPACE',
  /** Cloud Map service name of the product service (order service). */
  productServiceName: 'PRODUCT_SERVICE_NAME',
  /** How long discovered instances are cached, in milliseconds (order service). */
  discoveryTtlMs: 'DISCOVERY_TTL_MS',
  /** Cloud Map endpoint override (the embedded registry locally); unset on AWS. */
  cloudMapEndpoint: 'CLOUD_MAP_ENDPOINT',
  /** Cloud Map service id to register this instance in; set only where ECS does not register it (locally). */
  registryServiceId: 'REGISTRY_SERVICE_ID',
  /** Instance id to register under. */
  instanceId: 'INSTANCE_ID',
  /** Address other services reach this instance at, when registering itself. */
  advertiseHost: 'ADVERTISE_HOST',
  /** Longest a graceful shutdown may take before the process exits anyway, in milliseconds. */
  shutdownTimeoutMs: 'SHUTDOWN_TIMEOUT_MS',
  /** AWS region of the SDK clients. */
  region: 'AWS_REGION',
} as const;
