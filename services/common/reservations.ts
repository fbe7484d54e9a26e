/**
 * The product service's internal reservation API (order service → product service, inside the VPC;
 * not a gateway route): its paths and the shapes both sides read, declared once for the server
 * (services/product/app.ts) and its client (services/order/product-client.ts).
 */

/** Route patterns of the reservation API, as the product service serves them. */
export const RESERVATION_PATHS = {
  reserve: '/internal/reservations/:orderId',
  release: '/internal/reservations/:orderId/release',
  commit: '/internal/reservations/:orderId/commit',
  /** A page of open reservations, for the order service's sweeper. */
  open: '/internal/reservations-open',
} as const;

/** The path a client calls: `route`'s pattern with the order id filled in (encoded). */
export function reservationPath(route: keyof typeof RESERVATION_PATHS, orderId = ''): string {
  return RESERVATION_PATHS[route].replace(':orderId', encodeURIComponent(orderId));
}

/** An open reservation, as the product service lists it to the sweeper. */
export interface OpenReservation {
  readonly productId: string;
  readonly orderId: string;
  readonly quantity: number;
  readonly token: string;
  /** Epoch ms, by the product service's clock. */
  readonly reservedAt: number;
}
