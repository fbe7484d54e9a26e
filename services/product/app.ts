/**
 * The product service's HTTP API: the public routes from the route spec, and the internal
 * reservation API that only the order service calls (it is not a gateway route).
 */
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { IDEMPOTENCY_KEY_HEADER, IDEMPOTENCY_KEY_PATTERN, IDEMPOTENT_REPLAYED_HEADER } from '../../lib/routes/headers';
import { GATEHOUSE_ROUTES, orderItemsSchema, SERVICES } from '../../lib/routes/gatehouse-routes';
import type { JsonSchema } from '../../lib/routes/route-spec';
import { ServiceError } from '../common/errors';
import { Deadline, DEADLINE_HEADER, withDeadline } from '../common/deadline';
import { readPageRequest } from '../common/pagination';
import { RESERVATION_PATHS } from '../common/reservations';
import type { RouteContext } from '../common/routes';
import { serveRoutes } from '../common/routes';
import { createService } from '../common/server';
import type { ItemQuantity } from '../common/items';
import type { ProductFields, ProductStore } from './products';

/** Budget of an internal call that came without a deadline header. */
const DEFAULT_INTERNAL_BUDGET_MS = 5_000;
/** Longest budget a caller may ask for. */
const MAX_INTERNAL_BUDGET_MS = 30_000;

/** What the product service needs. */
export interface ProductAppDeps {
  readonly store: ProductStore;
  /**
   * How long an order id stays in a product's `settled` list after its commit, in ms: longer than any
   * reserve call for it can still be on its way (their deadlines are seconds). @default - one hour
   */
  readonly settledRetentionMs?: number;
  readonly readiness: () => Promise<void>;
  readonly logger?: FastifyBaseLogger | false;
}

const tokenSchema: JsonSchema = { type: 'string', minLength: 1, maxLength: 64 };

const reservationSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['items', 'token'],
  properties: { items: orderItemsSchema, token: tokenSchema },
};

const productIdsProperty: JsonSchema = { type: 'array', minItems: 1, maxItems: 50, items: { type: 'string', minLength: 1, maxLength: 64 } };

const releaseSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['productIds', 'token'],
  properties: { productIds: productIdsProperty, token: tokenSchema },
};

const commitSchema: JsonSchema = { type: 'object', additionalProperties: false, required: ['productIds'], properties: { productIds: productIdsProperty } };

const openSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: { cursor: { type: 'string', minLength: 1, maxLength: 2048 }, limit: { type: 'integer', minimum: 1, maximum: 100 } },
};

const orderIdParams: JsonSchema = {
  type: 'object',
  required: ['orderId'],
  properties: { orderId: { type: 'string', pattern: '^[A-Za-z0-9-]{1,64}$' } },
};

/** Builds the product service. */
export function createProductApp(deps: ProductAppDeps): FastifyInstance {
  const { store } = deps;
  const app = createService({ name: SERVICES.product, readiness: deps.readiness, ...(deps.logger !== undefined && { logger: deps.logger }) });

  serveRoutes(app, SERVICES.product, GATEHOUSE_ROUTES, {
    'GET /products': async ({ request }) => store.list(readPageRequest(request.query, (key) => typeof key.id === 'string' && Object.keys(key).length === 1)),
    'GET /products/{id}': async ({ request }) => store.get(pathParam(request, 'id')),
    'POST /products': async ({ request, reply, caller }: RouteContext) => {
      const key = idempotencyKey(request);
      const { product, replayed } = await store.create(request.body as ProductFields, key === undefined ? undefined : { callerId: caller.userId, key });
      if (replayed) reply.header(IDEMPOTENT_REPLAYED_HEADER, 'true');
      return reply.code(201).header('location', `/products/${product.id}`).send(product);
    },
    'PATCH /products/{id}': async ({ request }) => store.update(pathParam(request, 'id'), request.body as Partial<ProductFields>),
  });

  app.put(RESERVATION_PATHS.reserve, { schema: { params: orderIdParams, body: reservationSchema } }, async (request) =>
    withCallerDeadline(request, 'reserve stock', async () => {
      const body = request.body as { items: ItemQuantity[]; token: string };
      return { lines: await store.reserve(pathParam(request, 'orderId'), body.items, body.token) };
    }),
  );
  app.post(RESERVATION_PATHS.release, { schema: { params: orderIdParams, body: releaseSchema } }, async (request, reply) =>
    withCallerDeadline(request, 'release stock', async () => {
      const body = request.body as { productIds: string[]; token: string };
      await store.release(pathParam(request, 'orderId'), body.productIds, body.token);
      return noContent(reply);
    }),
  );
  app.post(RESERVATION_PATHS.commit, { schema: { params: orderIdParams, body: commitSchema } }, async (request, reply) =>
    withCallerDeadline(request, 'commit stock', async () => {
      await store.commit(pathParam(request, 'orderId'), (request.body as { productIds: string[] }).productIds);
      return noContent(reply);
    }),
  );
  app.post(RESERVATION_PATHS.open, { schema: { body: openSchema } }, async (request) =>
    withCallerDeadline(request, 'list reservations', async () => {
      const body = (request.body ?? {}) as { cursor?: string; limit?: number };
      const page = readPageRequest(
        { ...(body.cursor !== undefined && { cursor: body.cursor }), limit: String(body.limit ?? 100) },
        (key) => typeof key.id === 'string' && Object.keys(key).length === 1,
      );
      return store.openReservations(page, Date.now() - (deps.settledRetentionMs ?? 60 * 60 * 1000));
    }),
  );
  return app;
}

/**
 * Runs an internal call within the caller's remaining budget (the deadline header), so that no write
 * starts after the caller has given up on it: a reserve that arrives late would otherwise take stock
 * for a request that already answered.
 */
async function withCallerDeadline<T>(request: FastifyRequest, what: string, fn: () => Promise<T>): Promise<T> {
  const header = request.headers[DEADLINE_HEADER];
  const asked = typeof header === 'string' && /^\d{1,6}$/.test(header) ? Number(header) : DEFAULT_INTERNAL_BUDGET_MS;
  // Finish a little before the caller gives up, so that its next call (a release after a timeout)
  // comes after this one's writes rather than racing them.
  const budget = Math.min(asked, MAX_INTERNAL_BUDGET_MS);
  const deadline = Deadline.in(budget - Math.min(300, Math.floor(budget / 10)));
  deadline.assertTimeFor(what);
  return withDeadline(deadline, fn);
}

function pathParam(request: FastifyRequest, name: string): string {
  const value = (request.params as Record<string, unknown>)[name];
  if (typeof value !== 'string' || value.length === 0 || value.length > 64)
    throw new ServiceError('VALIDATION_FAILED', `path parameter ${name} must be 1 to 64 characters`);
  return value;
}

const IDEMPOTENCY_KEY = new RegExp(IDEMPOTENCY_KEY_PATTERN);

/** The optional Idempotency-Key of a create: 1 to 255 visible ASCII characters. */
export function idempotencyKey(request: FastifyRequest): string | undefined {
  const value = request.headers[IDEMPOTENCY_KEY_HEADER];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !IDEMPOTENCY_KEY.test(value)) {
    throw new ServiceError('VALIDATION_FAILED', `the ${IDEMPOTENCY_KEY_HEADER} header must be 1 to 255 visible ASCII characters`);
  }
  return value;
}

function noContent(reply: FastifyReply): FastifyReply {
  return reply.code(204).send();
}
