/**
 * Gatehouse's own two services as its app deploys and runs them: their entry points and their rule
 * priorities on the internal ALB's listener. These belong to the app, not to the generic constructs:
 * GatewayStack, the local runtime, the benchmarks and the tests import this module, and lib/index.ts
 * does not export it.
 */
import * as path from 'node:path';
import { SERVICES } from './routes/gatehouse-routes';

/** The services' entry points, by service name. */
export const SERVICE_ENTRIES = {
  [SERVICES.product]: path.join(__dirname, '..', 'services', 'product', 'server.ts'),
  [SERVICES.order]: path.join(__dirname, '..', 'services', 'order', 'server.ts'),
} as const;

/** Each service's rule priority on the internal ALB's listener. */
export const LISTENER_PRIORITIES = { [SERVICES.product]: 10, [SERVICES.order]: 20 } as const;
