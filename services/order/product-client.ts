/**
 * The order service's client of the product service's reservation API, over discovered instances.
 * Every call is idempotent per order id, so a call whose instance could not be reached (refused,
 * reset, timed out, or draining with a 503) is safely retried once on the next instance.
 */
import { GATEWAY_HEADERS } from '../../lib/routes/headers';
import type { ErrorCode } from '../common/errors';
import { isErrorCode, ServiceError } from '../common/errors';
import type { ItemQuantity, PricedItem } from '../common/items';
import type { Failover, InstanceDirectory, ServiceInstance } from './discovery';

/** What placing an order needs of the product service. */
export interface ProductReservations {
  reserve(orderId: string, items: readonly ItemQuantity[], requestId: string): Promise<PricedItem[]>;
  release(orderId: string, productIds: readonly string[], requestId: string): Promise<void>;
  commit(orderId: string, productIds: readonly string[], requestId: string): Promise<void>;
}

/** A call that did not get through to an instance: try another. */
class UnreachableError extends Error {
  override readonly name = 'UnreachableError';
  constructor(readonly failover: Failover, message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

// Product service errors as the order's client sees them: an unknown product is a bad order (422),
// not a missing order resource (404).
const TRANSLATED: Partial<Record<ErrorCode, ErrorCode>> = { PRODUCT_NOT_FOUND: 'UNKNOWN_PRODUCT' };
const PASSED_ON = new Set<ErrorCode>(['INSUFFICIENT_STOCK', 'RESERVATION_CONFLICT', 'VALIDATION_FAILED', 'UNKNOWN_PRODUCT']);

/** Reservations over HTTP. */
export class HttpProductReservations implements ProductReservations {
  constructor(private readonly directory: InstanceDirectory, private readonly timeoutMs = 3_000) {}

  async reserve(orderId: string, items: readonly ItemQuantity[], requestId: string): Promise<PricedItem[]> {
    const body = await this.send('PUT', `/internal/reservations/${encodeURIComponent(orderId)}`, { items }, requestId);
    return (body as { lines: PricedItem[] }).lines;
  }

  async release(orderId: string, productIds: readonly string[], requestId: string): Promise<void> {
    await this.send('POST', `/internal/reservations/${encodeURIComponent(orderId)}/release`, { productIds }, requestId);
  }

  async commit(orderId: string, productIds: readonly string[], requestId: string): Promise<void> {
    await this.send('POST', `/internal/reservations/${encodeURIComponent(orderId)}/commit`, { productIds }, requestId);
  }

  private async send(method: string, path: string, payload: unknown, requestId: string): Promise<unknown> {
    return this.directory.withFailover(
      (instance) => this.call(instance, method, path, payload, requestId),
      (error) => (error instanceof UnreachableError ? error.failover : undefined),
    );
  }

  private async call(instance: ServiceInstance, method: string, path: string, payload: unknown, requestId: string): Promise<unknown> {
    let response: Response;
    try {
      response = await fetch(`${instance.url}${path}`, {
        method,
        headers: { 'content-type': 'application/json', [GATEWAY_HEADERS.requestId]: requestId },
        body: JSON.stringify(payload),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      // fetch rejects only when no response came: refused, reset, DNS, or our timeout.
      const slow = error instanceof Error && error.name === 'TimeoutError';
      throw new UnreachableError(slow ? 'slow' : 'gone', `${instance.id}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    if (response.status === 503) {
      await response.body?.cancel();
      throw new UnreachableError('gone', `${instance.id} is not serving (503)`);
    }
    const text = await response.text();
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
