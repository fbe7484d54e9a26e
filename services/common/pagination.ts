/** Cursor pagination: `?limit=&cursor=` in, `{ items, nextCursor }` out. A cursor is an opaque DynamoDB key. */
import { ServiceError } from './errors';

/** One page of a list. */
export interface Page<T> {
  readonly items: readonly T[];
  readonly nextCursor: string | null;
}

/** The page size and the key to start after, from the query string. */
export interface PageRequest {
  readonly limit: number;
  readonly startKey?: Record<string, unknown>;
}

/** Page sizes. */
export const PAGE_LIMITS = { default: 20, max: 100 } as const;

/**
 * Reads `limit` and `cursor` from a query string; `isKey` says whether a decoded cursor is a key this
 * caller may start from (a cursor is client input: it must not open another customer's list).
 */
export function readPageRequest(query: unknown, isKey: (key: Record<string, unknown>) => boolean): PageRequest {
  const { limit, cursor } = (typeof query === 'object' && query !== null ? query : {}) as Record<string, unknown>;
  let size: number = PAGE_LIMITS.default;
  if (limit !== undefined) {
    size = typeof limit === 'string' && /^\d{1,4}$/.test(limit) ? Number(limit) : Number.NaN;
    if (!(size >= 1 && size <= PAGE_LIMITS.max)) {
      throw new ServiceError('INVALID_QUERY', `limit must be a whole number from 1 to ${PAGE_LIMITS.max}, got ${JSON.stringify(limit)}`);
    }
  }
  if (cursor === undefined || cursor === '') return { limit: size };
  return { limit: size, startKey: decodeCursor(cursor, isKey) };
}

/** The cursor for DynamoDB's LastEvaluatedKey: null when there is no next page. */
export function encodeCursor(lastEvaluatedKey: Record<string, unknown> | undefined): string | null {
  return lastEvaluatedKey === undefined ? null : Buffer.from(JSON.stringify(lastEvaluatedKey)).toString('base64url');
}

function decodeCursor(cursor: unknown, isKey: (key: Record<string, unknown>) => boolean): Record<string, unknown> {
  const invalid = new ServiceError('INVALID_CURSOR', 'cursor is not one this API returned');
  if (typeof cursor !== 'string' || cursor.length > 1024 || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw invalid;
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid;
  }
  if (typeof key !== 'object' || key === null || Array.isArray(key) || !isKey(key as Record<string, unknown>)) throw invalid;
  return key as Record<string, unknown>;
}
