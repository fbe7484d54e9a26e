/** InstanceDirectory against a scripted Cloud Map: caching, single flight, stale answers, round-robin, failover. */
import { DiscoverInstancesCommand, RequestLimitExceeded } from '@aws-sdk/client-servicediscovery';
import type { ServiceDiscoveryClient } from '@aws-sdk/client-servicediscovery';
import { ServiceError } from '../../services/common/errors';
import { InstanceDirectory } from '../../services/order/discovery';
import type { ServiceInstance } from '../../services/order/discovery';

/** A Cloud Map stand-in: answers with `instances`, or throws `failWith`; counts and checks requests. */
class ScriptedCloudMap {
  instances: { id: string; port: number }[] = [
    { id: 'a', port: 1001 },
    { id: 'b', port: 1002 },
  ];
  failWith?: Error;
  calls = 0;
  delayMs = 0;

  send: Pick<ServiceDiscoveryClient, 'send'>['send'] = (async (command: unknown) => {
    this.calls += 1;
    expect(command).toBeInstanceOf(DiscoverInstancesCommand);
    expect((command as DiscoverInstancesCommand).input).toMatchObject({ NamespaceName: 'gatehouse.local', ServiceName: 'product', HealthStatus: 'HEALTHY' });
    if (this.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
    if (this.failWith) throw this.failWith;
    return {
      Instances: this.instances.map((instance) => ({
        InstanceId: instance.id,
        Attributes: { AWS_INSTANCE_IPV4: '127.0.0.1', AWS_INSTANCE_PORT: String(instance.port) },
      })),
    };
  }) as Pick<ServiceDiscoveryClient, 'send'>['send'];
}

function directory(cloudMap: ScriptedCloudMap, clock: { now: number }, ttlMs = 5_000): InstanceDirectory {
  return new InstanceDirectory({ client: cloudMap, namespace: 'gatehouse.local', service: 'product', ttlMs, retryAfterFailureMs: 1_000, now: () => clock.now });
}

it('maps instances to URLs and serves them from the cache until the TTL passes', async () => {
  const cloudMap = new ScriptedCloudMap();
  const clock = { now: 0 };
  const products = directory(cloudMap, clock);
  expect(await products.instances()).toEqual([
    { id: 'a', url: 'http://127.0.0.1:1001' },
    { id: 'b', url: 'http://127.0.0.1:1002' },
  ]);
  clock.now = 4_999;
  await products.instances();
  expect(cloudMap.calls).toBe(1);
  clock.now = 5_000;
  await products.instances();
  expect(cloudMap.calls).toBe(2);
  expect(products.stats).toEqual({ discoveryCalls: 2, cacheHits: 1, staleServed: 0, failures: 0 });
});

it('shares one Cloud Map call among 1,000 concurrent lookups', async () => {
  const cloudMap = new ScriptedCloudMap();
  cloudMap.delayMs = 20;
  const products = directory(cloudMap, { now: 0 });
  await Promise.all(Array.from({ length: 1_000 }, () => products.instances()));
  expect(cloudMap.calls).toBe(1);
});

it('serves the last answer while Cloud Map throttles, and asks again only after the back-off', async () => {
  const cloudMap = new ScriptedCloudMap();
  const clock = { now: 0 };
  const products = directory(cloudMap, clock);
  await products.instances();
  cloudMap.failWith = new RequestLimitExceeded({ message: 'Rate exceeded', $metadata: {} });
  clock.now = 6_000;
  expect((await products.instances()).map((instance) => instance.id)).toEqual(['a', 'b']);
  clock.now = 6_500;
  await products.instances();
  expect(cloudMap.calls).toBe(2);
  clock.now = 7_000;
  cloudMap.failWith = undefined;
  cloudMap.instances = [{ id: 'c', port: 1003 }];
  expect((await products.instances()).map((instance) => instance.id)).toEqual(['c']);
  expect(products.stats).toMatchObject({ discoveryCalls: 3, failures: 1, staleServed: 2 });
});

it('fails with DEPENDENCY_UNAVAILABLE when Cloud Map fails and nothing is cached', async () => {
  const cloudMap = new ScriptedCloudMap();
  cloudMap.failWith = new Error('network down');
  await expect(directory(cloudMap, { now: 0 }).instances()).rejects.toMatchObject({ code: 'DEPENDENCY_UNAVAILABLE' });
});

it('takes instances in turn', async () => {
  const products = directory(new ScriptedCloudMap(), { now: 0 });
  const used: string[] = [];
  for (let index = 0; index < 4; index += 1)
    await products.withFailover(
      async (instance) => used.push(instance.id),
      () => undefined,
    );
  expect(used).toEqual(['b', 'a', 'b', 'a']);
});

it('retries an unreachable instance once on another, and forgets it until the next refresh', async () => {
  const cloudMap = new ScriptedCloudMap();
  const clock = { now: 0 };
  const products = directory(cloudMap, clock);
  const unreachable = new Error('ECONNREFUSED');
  const tried: string[] = [];
  const call = async (instance: ServiceInstance) => {
    tried.push(instance.id);
    if (instance.id === 'b') throw unreachable;
    return instance.id;
  };
  expect(await products.withFailover(call, (error) => (error === unreachable ? 'gone' : undefined))).toBe('a');
  expect(tried).toEqual(['b', 'a']);
  expect((await products.instances()).map((instance) => instance.id)).toEqual(['a']);
  clock.now = 5_000;
  expect((await products.instances()).map((instance) => instance.id)).toEqual(['a', 'b']);
});

it('gives up with DEPENDENCY_UNAVAILABLE after the retry, and passes other errors through untouched', async () => {
  const products = directory(new ScriptedCloudMap(), { now: 0 });
  await expect(
    products.withFailover(
      async () => Promise.reject(new Error('down')),
      () => 'gone',
    ),
  ).rejects.toMatchObject({ code: 'DEPENDENCY_UNAVAILABLE' });
  const refused = new ServiceError('INSUFFICIENT_STOCK', 'no');
  await expect(
    directory(new ScriptedCloudMap(), { now: 0 }).withFailover(
      async () => Promise.reject(refused),
      () => undefined,
    ),
  ).rejects.toBe(refused);
});

it('keeps an instance that was only slow, and asks Cloud Map again at once when every instance is gone', async () => {
  const cloudMap = new ScriptedCloudMap();
  const products = directory(cloudMap, { now: 0 });
  await expect(
    products.withFailover(
      async () => Promise.reject(new Error('timeout')),
      () => 'slow',
    ),
  ).rejects.toMatchObject({ code: 'DEPENDENCY_UNAVAILABLE' });
  expect((await products.instances()).map((instance) => instance.id)).toEqual(['a', 'b']);
  expect(cloudMap.calls).toBe(1);

  await expect(
    products.withFailover(
      async () => Promise.reject(new Error('refused')),
      () => 'gone',
    ),
  ).rejects.toMatchObject({ code: 'DEPENDENCY_UNAVAILABLE' });
  expect((await products.instances()).map((instance) => instance.id)).toEqual(['a', 'b']);
  expect(cloudMap.calls).toBe(2);
});

it('answers DEPENDENCY_UNAVAILABLE when Cloud Map knows no healthy instance', async () => {
  const cloudMap = new ScriptedCloudMap();
  cloudMap.instances = [];
  await expect(
    directory(cloudMap, { now: 0 }).withFailover(
      async () => 'x',
      () => undefined,
    ),
  ).rejects.toMatchObject({ code: 'DEPENDENCY_UNAVAILABLE' });
});

it('once every instance is gone, a failed Cloud Map call does not leave it serving the empty list during the back-off', async () => {
  const cloudMap = new ScriptedCloudMap();
  cloudMap.instances = [{ id: 'only', port: 1001 }];
  const clock = { now: 0 };
  const products = directory(cloudMap, clock);
  await expect(
    products.withFailover(
      async () => Promise.reject(new Error('reset')),
      () => 'gone',
    ),
  ).rejects.toMatchObject({ code: 'DEPENDENCY_UNAVAILABLE' });
  cloudMap.failWith = new RequestLimitExceeded({ message: 'slow down', $metadata: {} });
  await expect(products.instances()).rejects.toMatchObject({ code: 'DEPENDENCY_UNAVAILABLE' });
  // Still inside the back-off after that failure, but Cloud Map answers again: ask it.
  cloudMap.failWith = undefined;
  expect((await products.instances()).map((instance) => instance.id)).toEqual(['only']);
});

it('serves the last answer when Cloud Map stalls, after waiting only briefly for the refresh', async () => {
  const cloudMap = new ScriptedCloudMap();
  const clock = { now: 0 };
  const products = new InstanceDirectory({
    client: cloudMap,
    namespace: 'gatehouse.local',
    service: 'product',
    ttlMs: 1_000,
    staleWaitMs: 10,
    now: () => clock.now,
  });
  const first = await products.instances();
  let stalled = (): void => undefined;
  cloudMap.send = (() => new Promise<unknown>((resolve) => (stalled = () => resolve({ Instances: [] })))) as unknown as Pick<
    ServiceDiscoveryClient,
    'send'
  >['send'];
  clock.now = 1_001;
  expect(await products.instances()).toEqual(first);
  expect(products.stats.staleServed).toBe(1);
  stalled();
});
