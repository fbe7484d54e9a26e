/** The order service's HTTP API: the order routes of the route spec. */
import { GATEWAY_DEFAULTS, serviceBudgetMs } from '../../lib/routes/gateway-spec';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { GATEHOUSE_ROUTES, SERVICES } from '../../lib/routes/gatehouse-routes';
import { IDEMPOTENCY_KEY_HEADER, IDEMPOTENCY_KEY_PATTERN, IDEMPOTENT_REPLAYED_HEADER } from '../../lib/routes/headers';
import { ServiceError } from '../common/errors';
import { Deadline, withDeadline } from '../common/deadline';
import type { ItemQuantity } from '../common/items';
import { readPageRequest } from '../common/pagination';
import { serveRoutes } from '../common/routes';
import { createService } from '../common/server';
import type { DiscoveryStats } from './discovery';
import type { PlaceOrderDeps } from './place-order';
import { placeOrder } from './place-order';

/** Where the order service's discovery counts are served (inside the VPC; not a gateway route). */
export const DISCOVERY_STATS_PATH = '/internal/discovery-stats';

/** Default budget of a request: the default integration timeout (10 s) less room to answer, 8 s. */
export const DEFAULT_REQUEST_DEADLINE_MS = serviceBudgetMs(GATEWAY_DEFAULTS.integrationTimeoutMs);

const IDEMPOTENCY_KEY = new RegExp(IDEMPOTENCY_KEY_PATTERN);

/** What the order service needs. */
export interface OrderAppDeps extends Omit<PlaceOrderDeps, 'warn'> {
  readonly readiness: () => Promise<void>;
  /**
   * Each request's budget, in ms: every call it makes ends by then, so it answers before the gateway's
   * integration timeout (10 s by default) with room to spare. @default - 8000
   */
  readonly requestDeadlineMs?: number;
  /** Told when work after an answer ends (tests wait on it). */
  readonly onAfterAnswer?: (work: Promise<void>) => void;
  /** The discovery client's counts, for tests and benchmarks. */
  readonly discoveryStats: () => DiscoveryStats;
  readonly logger?: FastifyBaseLogger | false;
}

/** Builds the order service. */
export function createOrderApp(deps: OrderAppDeps): FastifyInstance {
  const app = createService({ name: SERVICES.order, readiness: deps.readiness, ...(deps.logger !== undefined && { logger: deps.logger }) });
  const placing: PlaceOrderDeps = { ...deps, warn: (fields, message) => app.log.warn(fields, message) };
  const requestDeadlineMs = deps.requestDeadlineMs ?? DEFAULT_REQUEST_DEADLINE_MS;
  // Work after answers (commits) still running; a graceful stop waits for it (each has its own deadline).
  const afterAnswers = new Set<Promise<void>>();
  app.addHook('onClose', async () => {
    await Promise.allSettled([...afterAnswers]);
  });

  serveRoutes(app, SERVICES.order, GATEHOUSE_ROUTES, {
    'POST /orders': async ({ request, reply, caller }) => {
      const key = request.headers[IDEMPOTENCY_KEY_HEADER];
      if (typeof key !== 'string' || !IDEMPOTENCY_KEY.test(key)) {
        throw new ServiceError(
          'MISSING_IDEMPOTENCY_KEY',
          `send an ${IDEMPOTENCY_KEY_HEADER} header (1 to 255 visible ASCII characters) so that the order can be retried safely`,
        );
      }
      const { items } = request.body as { items: ItemQuantity[] };
      const { order, replayed, after } = await withDeadline(Deadline.in(requestDeadlineMs), () =>
        placeOrder(placing, { customerId: caller.userId, idempotencyKey: key, items, requestId: request.id }),
      );
      if (replayed) reply.header(IDEMPOTENT_REPLAYED_HEADER, 'true');
      if (after !== undefined) {
        // After the answer is on its way, not on the critical path; it never throws.
        reply.raw.once('close', () => {
          const work = after().finally(() => afterAnswers.delete(work));
          afterAnswers.add(work);
          deps.onAfterAnswer?.(work);
        });
      }
      return reply.code(201).header('location', `/orders/${order.id}`).send(order);
    },
    'GET /orders/{id}': async ({ request, caller }) => {
      const { id } = request.params as { id: string };
      const order = await withDeadline(Deadline.in(requestDeadlineMs), () => deps.orders.get(id));
      // Someone else's order is as absent as one that never was: its existence is not the caller's business.
      if (order === undefined || order.customerId !== caller.userId) throw new ServiceError('ORDER_NOT_FOUND', `order ${id} does not exist`);
      return order;
    },
    'GET /orders': async ({ request, caller }) =>
      withDeadline(Deadline.in(requestDeadlineMs), () =>
        deps.orders.listByCustomer(
          caller.userId,
          readPageRequest(
            request.query,
            (key) => key.customerId === caller.userId && typeof key.id === 'string' && typeof key.createdAt === 'string' && Object.keys(key).length === 3,
          ),
        ),
      ),
  });
  app.get(DISCOVERY_STATS_PATH, async () => deps.discoveryStats());
  return app;
}
