/**
 * The order service's client of the product service's reservation API, over discovered instances.
 * Every call is idempotent per order id, so a call whose instance could not be reached (refused,
 * reset, timed out, or draining with a 503) is safely retried once on the next instance.
 */
import { GATEWAY_HEADERS } from '../../lib/routes/headers';
import type { ErrorCode } from '../common/errors';
import { isErrorCode, ServiceError } from '../common/errors';
import type { ItemQuantity, PricedItem } from '../common/items';
import { currentDeadline, Deadline, DEADLINE_HEADER, isTimeout } from '../common/deadline';
import type { OpenReservation } from '../common/reservations';
import { reservationPath } from '../common/reservations';
import type { Failover, InstanceDirectory, ServiceInstance } from './discovery';

/** What placing an order, and sweeping, need of the product service. */
export interface ProductReservations {
  /** Reserves under the lease `token` (a retry with a new token takes the reservation over). */
  reserve(orderId: string, items: readonly ItemQuantity[], token: string, requestId: string): Promise<PricedItem[]>;
  /** Gives back what `token` still holds. */
  release(orderId: string, productIds: readonly string[], token: string, requestId: string): Promise<void>;
  /** Makes a confirmed order's reservations final. */
  commit(orderId: string, productIds: readonly string[], requestId: string): Promise<void>;
  /** A page of the open reservations. */
  open(cursor: string | undefined, requestId: string): Promise<{ items: OpenReservation[]; nextCursor: string | null }>;
}

/** A call that did not get through to an instance: try another. */
class UnreachableError extends Error {
  override readonly name = 'UnreachableError';
  constructor(
    readonly failover: Failover,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

// Product service errors as the order's client sees them: an unknown product is a bad order (422),
// not a missing order resource (404).
const TRANSLATED: Partial<Record<ErrorCode, ErrorCode>> = { PRODUCT_NOT_FOUND: 'UNKNOWN_PRODUCT' };
const PASSED_ON = new Set<ErrorCode>(['INSUFFICIENT_STOCK', 'RESERVATION_CONFLICT', 'VALIDATION_FAILED', 'UNKNOWN_PRODUCT', 'PRODUCT_BUSY']);

/** Errors that say the product service refused the call: nothing was reserved. */
export const REFUSALS: ReadonlySet<ErrorCode> = PASSED_ON;

/** Reservations over HTTP. */
export class HttpProductReservations implements ProductReservations {
  /** @param timeoutMs cap of one attempt; each attempt also ends at the request's deadline */
  constructor(
    private readonly directory: InstanceDirectory,
    private readonly timeoutMs = 3_000,
  ) {}

  async reserve(orderId: string, items: readonly ItemQuantity[], token: string, requestId: string): Promise<PricedItem[]> {
    const body = await this.send('PUT', reservationPath('reserve', orderId), { items, token }, requestId);
    return (body as { lines: PricedItem[] }).lines;
  }

  async release(orderId: string, productIds: readonly string[], token: string, requestId: string): Promise<void> {
    await this.send('POST', reservationPath('release', orderId), { productIds, token }, requestId);
  }

  async commit(orderId: string, productIds: readonly string[], requestId: string): Promise<void> {
    await this.send('POST', reservationPath('commit', orderId), { productIds }, requestId);
  }

  async open(cursor: string | undefined, requestId: string): Promise<{ items: OpenReservation[]; nextCursor: string | null }> {
    return (await this.send('POST', reservationPath('open'), cursor === undefined ? {} : { cursor }, requestId)) as {
      items: OpenReservation[];
      nextCursor: string | null;
    };
  }

  private async send(method: string, path: string, payload: unknown, requestId: string): Promise<unknown> {
    return this.directory.withFailover(
      (instance) => this.call(instance, method, path, payload, requestId),
      (error) => (error instanceof UnreachableError ? error.failover : undefined),
    );
  }

  private async call(instance: ServiceInstance, method: string, path: string, payload: unknown, requestId: string): Promise<unknown> {
    let response: Response;
    const deadline = currentDeadline() ?? Deadline.in(this.timeoutMs);
    deadline.assertTimeFor(`call the product service (${method} ${path.split('/').slice(0, 3).join('/')})`);
    const budgetMs = Math.min(this.timeoutMs, deadline.remainingMs());
    const signal = AbortSignal.timeout(Math.max(1, budgetMs));
    try {
      response = await fetch(`${instance.url}${path}`, {
        method,
        // The product service starts no write after this budget: a late reserve takes nothing.
        headers: { 'content-type': 'application/json', [GATEWAY_HEADERS.requestId]: requestId, [DEADLINE_HEADER]: String(budgetMs) },
        body: JSON.stringify(payload),
        signal,
      });
    } catch (error) {
      // fetch rejects only when no response came: refused, reset, DNS, or our timeout.
      // A DOMException (what an AbortSignal's timeout rejects with) is no Error instance in Node 20.
      const slow = isTimeout(error);
      throw new UnreachableError(slow ? 'slow' : 'gone', `${instance.id}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    let text: string;
    try {
      text = await response.text();
    } catch (error) {
      throw new UnreachableError('slow', `${instance.id}: the answer did not arrive: ${error instanceof Error ? error.message : String(error)}`, {
        cause: error,
      });
    }
    // A 503 without our code is an instance that is draining or not ready: try another.
    if (response.status === 503 && errorCodeOf(text) !== 'PRODUCT_BUSY') throw new UnreachableError('gone', `${instance.id} is not serving (503)`);
    if (response.ok) return text === '' ? undefined : (JSON.parse(text) as unknown);
    const code = errorCodeOf(text);
    const translated = code === undefined ? undefined : (TRANSLATED[code] ?? code);
    if (translated !== undefined && PASSED_ON.has(translated)) throw new ServiceError(translated, errorMessageOf(text));
    throw new ServiceError('DEPENDENCY_UNAVAILABLE', `product service answered ${response.status}${code === undefined ? '' : ` ${code}`}`);
  }
}

function errorCodeOf(text: string): ErrorCode | undefined {
  const code = parseError(text)?.code;
  return isErrorCode(code) ? code : undefined;
}

function errorMessageOf(text: string): string {
  const message = parseError(text)?.message;
  return typeof message === 'string' ? message : 'the product service refused the reservation';
}

function parseError(text: string): Record<string, unknown> | undefined {
  try {
    const body: unknown = JSON.parse(text);
    if (typeof body === 'object' && body !== null && 'error' in body && typeof body.error === 'object' && body.error !== null) {
      return body.error as Record<string, unknown>;
    }
  } catch {
    // not JSON: no code to pass on
  }
  return undefined;
}
