/** The per-product bulkhead of reservations: a few writes at once per product, a bounded queue, no wait past the deadline. */
import { KeyedLimiter } from '../../services/product/limiter';

function gate(): { promise: Promise<void>; open: () => void } {
  let open = (): void => undefined;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

it('runs at most `concurrency` calls per key at once, the rest in arrival order as slots free', async () => {
  const limiter = new KeyedLimiter({ concurrency: 2, queue: 10 });
  const gates = Array.from({ length: 5 }, gate);
  let active = 0;
  let peak = 0;
  const order: number[] = [];
  const runs = gates.map((one, index) =>
    limiter.run('hot', async () => {
      active += 1;
      peak = Math.max(peak, active);
      order.push(index);
      await one.promise;
      active -= 1;
    }),
  );
  // Another key is not held up by the hot one.
  await limiter.run('cold', async () => undefined);
  for (const one of gates) one.open();
  await Promise.all(runs);
  expect(peak).toBe(2);
  expect(order).toEqual([0, 1, 2, 3, 4]);
});

it('refuses at once with PRODUCT_BUSY when the queue is full, and when the caller gives up while waiting', async () => {
  const limiter = new KeyedLimiter({ concurrency: 1, queue: 1 });
  const held = gate();
  const running = limiter.run('hot', () => held.promise);
  const controller = new AbortController();
  const waiting = limiter.run('hot', async () => 'waited', controller.signal);
  await expect(limiter.run('hot', async () => 'never')).rejects.toMatchObject({ code: 'PRODUCT_BUSY' });
  controller.abort();
  await expect(waiting).rejects.toMatchObject({ code: 'PRODUCT_BUSY' });
  held.open();
  await running;
  await expect(limiter.run('hot', async () => 'free again')).resolves.toBe('free again');
});
