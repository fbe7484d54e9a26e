/**
 * Gatehouse's own API: the product and order routes, their scopes and body schemas.
 *
 * The gateway, the authorizer's scope table, the services' validation and the local gateway all read
 * these objects; nothing here is typed a second time elsewhere. Pure data: no aws-cdk-lib imports.
 */
import { IDEMPOTENCY_KEY_HEADER, IDEMPOTENCY_KEY_PATTERN } from './headers';
import type { JsonSchema, RouteHeader, RouteSpec } from './route-spec';

/** Service names, as registered in Cloud Map and used by the route spec. */
export const SERVICES = {
  product: 'product',
  order: 'order',
} as const;

/**
 * The identifier of the resource server that holds these scopes in a Cognito user pool: access tokens
 * name each scope `gatehouse/<scope>`.
 */
export const RESOURCE_SERVER_IDENTIFIER = 'gatehouse';

/** The OAuth scopes of Gatehouse's API. */
export const SCOPES = {
  productsRead: 'products:read',
  productsWrite: 'products:write',
  ordersRead: 'orders:read',
  ordersWrite: 'orders:write',
} as const;

const DRAFT_04 = 'http://json-schema.org/draft-04/schema#';

/** The Idempotency-Key of a POST: a retry with the same key answers with the first result. */
function idempotencyKeyHeader(required: boolean): RouteHeader {
  return {
    name: IDEMPOTENCY_KEY_HEADER,
    required,
    description: 'A key of your choosing for this request; a retry with the same key and body answers with the first result instead of doing it again',
    schema: { type: 'string', pattern: IDEMPOTENCY_KEY_PATTERN },
  };
}

/** Money in integer minor units (cents) and an ISO 4217 currency code. */
const moneySchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['amount', 'currency'],
  properties: {
    amount: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
    currency: { type: 'string', pattern: '^[A-Z]{3}$' },
  },
};

const productFields: Record<string, JsonSchema> = {
  name: { type: 'string', minLength: 1, maxLength: 200 },
  description: { type: 'string', maxLength: 2000 },
  price: moneySchema,
  stock: { type: 'integer', minimum: 0, maximum: 1_000_000_000 },
};

/** Body of `POST /products`. */
export const createProductSchema: JsonSchema = {
  $schema: DRAFT_04,
  title: 'CreateProduct',
  type: 'object',
  additionalProperties: false,
  required: ['name', 'price', 'stock'],
  properties: productFields,
};

/** Body of `PATCH /products/{id}`: any of the product's fields, at least one. */
export const updateProductSchema: JsonSchema = {
  $schema: DRAFT_04,
  title: 'UpdateProduct',
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  properties: productFields,
};

/** An order's items: 1 to 50 products, 1 to 100 of each (the product service reserves the same list). */
export const orderItemsSchema: JsonSchema = {
  type: 'array',
  minItems: 1,
  maxItems: 50,
  items: {
    type: 'object',
    additionalProperties: false,
    required: ['productId', 'quantity'],
    properties: {
      productId: { type: 'string', minLength: 1, maxLength: 64 },
      quantity: { type: 'integer', minimum: 1, maximum: 100 },
    },
  },
};

/** Body of `POST /orders`. */
export const createOrderSchema: JsonSchema = {
  $schema: DRAFT_04,
  title: 'CreateOrder',
  type: 'object',
  additionalProperties: false,
  required: ['items'],
  properties: { items: orderItemsSchema },
};

/** Every route of Gatehouse's public API. */
export const GATEHOUSE_ROUTES: readonly RouteSpec[] = [
  { method: 'GET', path: '/products', service: SERVICES.product, scopes: [SCOPES.productsRead], summary: 'List products, a page at a time' },
  { method: 'GET', path: '/products/{id}', service: SERVICES.product, scopes: [SCOPES.productsRead], summary: 'Get one product' },
  {
    method: 'POST',
    path: '/products',
    service: SERVICES.product,
    scopes: [SCOPES.productsWrite],
    requestSchema: createProductSchema,
    headers: [idempotencyKeyHeader(false)],
    summary: 'Create a product',
  },
  {
    method: 'PATCH',
    path: '/products/{id}',
    service: SERVICES.product,
    scopes: [SCOPES.productsWrite],
    requestSchema: updateProductSchema,
    summary: 'Update a product',
  },
  { method: 'GET', path: '/orders', service: SERVICES.order, scopes: [SCOPES.ordersRead], summary: "List the caller's orders, newest first" },
  { method: 'GET', path: '/orders/{id}', service: SERVICES.order, scopes: [SCOPES.ordersRead], summary: "Get one of the caller's orders" },
  {
    method: 'POST',
    path: '/orders',
    service: SERVICES.order,
    scopes: [SCOPES.ordersWrite],
    requestSchema: createOrderSchema,
    // Placing an order reserves stock. Per client (in each usage plan): one client sending bad bodies
    // cannot use up anyone else's checkouts. All clients together: a ceiling that keeps a burst of
    // checkouts from starving the order service's reads.
    throttle: { rateLimit: 50, burstLimit: 100 },
    ceiling: { rateLimit: 200, burstLimit: 400 },
    headers: [idempotencyKeyHeader(true)],
    summary: 'Place an order',
  },
];
