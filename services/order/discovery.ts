/**
 * Client-side discovery on Cloud Map, the Eureka client of this pattern: DiscoverInstances for the
 * healthy instances of a service, cached for a short TTL (Cloud Map allows 1,000 DiscoverInstances a
 * second per account, so one call per request would be a bug), one call in flight at a time, the
 * last good answer served when Cloud Map errors, throttles or stalls (every call has a deadline that
 * fires), round-robin, and one retry on the next
 * instance when a call cannot reach the first.
 */
import { DiscoverInstancesCommand } from '@aws-sdk/client-servicediscovery';
import type { ServiceDiscoveryClient } from '@aws-sdk/client-servicediscovery';
import { ServiceError } from '../common/errors';
import { currentDeadline } from '../common/deadline';

/** One instance of the discovered service. */
export interface ServiceInstance {
  readonly id: string;
  /** `http://{ip}:{port}` */
  readonly url: string;
}

/** Why a call should go to another instance: `gone` (refused, reset, draining) or only `slow` (timed out). */
export type Failover = 'gone' | 'slow';

/** Counts for tests, benchmarks and logs. */
export interface DiscoveryStats {
  /** DiscoverInstances calls made. */
  discoveryCalls: number;
  /** Lookups answered from a fresh cache. */
  cacheHits: number;
  /** Lookups answered from a stale cache because Cloud Map failed. */
  staleServed: number;
  /** DiscoverInstances calls that failed. */
  failures: number;
}

/** Options of {@link InstanceDirectory}. */
export interface InstanceDirectoryOptions {
  readonly client: Pick<ServiceDiscoveryClient, 'send'>;
  readonly namespace: string;
  readonly service: string;
  /** How long an answer is fresh, in milliseconds. */
  readonly ttlMs: number;
  /** After a failed call, wait this long before calling again (serving the stale answer). @default - 1000 */
  readonly retryAfterFailureMs?: number;
  /** Longest a DiscoverInstances call may take, in ms (on top of the SDK's own timeouts). @default - 2000 */
  readonly callTimeoutMs?: number;
  /**
   * When an answer is known but no longer fresh, how long a lookup waits for the refresh before it
   * serves the known answer, in ms: a stalled Cloud Map then costs a lookup this much, not a timeout.
   * @default - 50
   */
  readonly staleWaitMs?: number;
  /** Told when a stale answer is served. */
  readonly onFailure?: (error: unknown) => void;
  /** @default - Date.now */
  readonly now?: () => number;
}

/** The instances of one Cloud Map service, as this process knows them. */
export class InstanceDirectory {
  readonly stats: DiscoveryStats = { discoveryCalls: 0, cacheHits: 0, staleServed: 0, failures: 0 };
  private known?: readonly ServiceInstance[];
  private freshUntil = 0;
  private nextCallAt = 0;
  private inFlight?: Promise<readonly ServiceInstance[]>;
  private turn = 0;
  private readonly now: () => number;

  constructor(private readonly options: InstanceDirectoryOptions) {
    this.now = options.now ?? Date.now;
  }

  /** The healthy instances: cached, refreshed at most once per TTL, stale while Cloud Map fails. */
  async instances(): Promise<readonly ServiceInstance[]> {
    const now = this.now();
    if (this.known !== undefined && now < this.freshUntil) {
      this.stats.cacheHits += 1;
      return this.known;
    }
    // Backing off after a failure only while something is known: an empty list is no answer to serve.
    if (this.known !== undefined && this.known.length > 0 && now < this.nextCallAt) {
      this.stats.staleServed += 1;
      return this.known;
    }
    const refresh = (this.inFlight ??= this.discover().finally(() => {
      this.inFlight = undefined;
    }));
    const known = this.known;
    // Nothing known, or every known instance dropped as gone: only Cloud Map can answer.
    if (known === undefined || known.length === 0) {
      try {
        return await refresh;
      } catch (error) {
        throw new ServiceError('DEPENDENCY_UNAVAILABLE', `cannot discover ${this.options.service}: Cloud Map failed and nothing is cached`, { cause: error });
      }
    }
    // Something is known: wait for the refresh only briefly, whether Cloud Map fails or stalls.
    let timer: NodeJS.Timeout | undefined;
    const refreshed = await Promise.race([
      refresh.then(
        (instances) => instances,
        () => undefined,
      ),
      new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), this.options.staleWaitMs ?? 50);
      }),
    ]);
    clearTimeout(timer);
    if (refreshed !== undefined) return refreshed;
    this.stats.staleServed += 1;
    return this.known ?? known;
  }

  /**
   * Calls `call` on the next instance. If `failover` says the call did not get through, tries the
   * following instance once; an instance it calls gone (refused, reset, draining) is also dropped
   * until the next refresh, while one that was only slow stays.
   */
  async withFailover<T>(call: (instance: ServiceInstance) => Promise<T>, failover: (error: unknown) => Failover | undefined): Promise<T> {
    let tried: string | undefined;
    for (let attempt = 1; ; attempt += 1) {
      const instance = await this.pick(tried);
      try {
        return await call(instance);
      } catch (error) {
        const verdict = failover(error);
        if (verdict === undefined) throw error;
        if (verdict === 'gone') this.drop(instance.id);
        if (attempt === 2) throw new ServiceError('DEPENDENCY_UNAVAILABLE', `no instance of ${this.options.service} answered`, { cause: error });
        tried = instance.id;
      }
    }
  }

  /** The next instance in round-robin order, other than `avoid` when there is another. */
  private async pick(avoid?: string): Promise<ServiceInstance> {
    const all = await this.instances();
    const candidates = all.length > 1 && avoid !== undefined ? all.filter((instance) => instance.id !== avoid) : all;
    if (candidates.length === 0) throw new ServiceError('DEPENDENCY_UNAVAILABLE', `no healthy instance of ${this.options.service}`);
    this.turn = (this.turn + 1) % Number.MAX_SAFE_INTEGER;
    return candidates[this.turn % candidates.length];
  }

  /** Forgets an unreachable instance until Cloud Map is asked again, at once if none is left. */
  private drop(id: string): void {
    if (this.known === undefined) return;
    this.known = this.known.filter((instance) => instance.id !== id);
    if (this.known.length === 0) {
      this.freshUntil = 0;
      this.nextCallAt = 0;
    }
  }

  private async discover(): Promise<readonly ServiceInstance[]> {
    this.stats.discoveryCalls += 1;
    try {
      const result = await this.options.client.send(
        new DiscoverInstancesCommand({ NamespaceName: this.options.namespace, ServiceName: this.options.service, HealthStatus: 'HEALTHY', MaxResults: 100 }),
        { abortSignal: currentDeadline()?.signal(this.options.callTimeoutMs ?? 2_000) ?? AbortSignal.timeout(this.options.callTimeoutMs ?? 2_000) },
      );
      const instances = (result.Instances ?? []).flatMap((instance) => {
        const ip = instance.Attributes?.AWS_INSTANCE_IPV4;
        const port = instance.Attributes?.AWS_INSTANCE_PORT;
        return instance.InstanceId !== undefined && ip !== undefined && port !== undefined ? [{ id: instance.InstanceId, url: `http://${ip}:${port}` }] : [];
      });
      const now = this.now();
      this.known = instances;
      this.freshUntil = now + this.options.ttlMs;
      this.nextCallAt = this.freshUntil;
      return instances;
    } catch (error) {
      this.stats.failures += 1;
      this.nextCallAt = this.now() + (this.options.retryAfterFailureMs ?? 1_000);
      this.options.onFailure?.(error);
      throw error;
    }
  }
}
