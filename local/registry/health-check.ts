/**
 * Health checks of registered instances, as ECS gives them to Cloud Map: on AWS a service registered
 * with `HealthCheckCustomConfig` is told each task's health by ECS (`UpdateInstanceCustomHealthStatus`),
 * from the container and load balancer health checks. Locally no ECS agent is watching, so the registry
 * does that job itself: it calls each instance's health path the way an ALB target group does (every
 * interval, a timeout, consecutive failures before UNHEALTHY, consecutive successes before HEALTHY) and
 * sets the same custom health an ECS agent would. Without this, a process that died without
 * deregistering (SIGKILL, OOM) stayed HEALTHY in the registry forever.
 *
 * The Cloud Map semantics of {@link RegistryState} do not change: health still moves only through the
 * custom health status, and a registry started without a health check behaves exactly as before.
 */
import { request } from 'node:http';
import type { InstanceHealth, RegistryState } from './state';

/**
 * How instances are checked. An ALB target group's rule scaled down from 30 s to 2 s, with one more
 * failure before UNHEALTHY: a dead process is deregistered at once by the supervisor, so these checks
 * are for a hung one, and they must not take a healthy instance out of service because a loaded
 * two-core machine answered one check late (with every instance out, the gateway has nowhere to go).
 */
export interface HealthCheckOptions {
  /** @default - '/health' */
  readonly path?: string;
  /** Time between two checks of an instance, in milliseconds. @default - 2000 */
  readonly intervalMs?: number;
  /** A check that has not answered in this long failed, in milliseconds. @default - 1500 */
  readonly timeoutMs?: number;
  /** Consecutive failures that make an instance UNHEALTHY. @default - 3 */
  readonly unhealthyThreshold?: number;
  /** Consecutive successes that make an UNHEALTHY instance HEALTHY again. @default - 2 */
  readonly healthyThreshold?: number;
}

/** Calls `url`; true when it answered 2xx within `timeoutMs`. */
export type HealthProbe = (url: string, timeoutMs: number) => Promise<boolean>;

/** The settings with their defaults applied. */
export type ResolvedHealthCheck = Required<HealthCheckOptions>;

/** Applies the defaults and checks the values; errors name the option, the value and the rule. */
export function resolveHealthCheck(options: HealthCheckOptions = {}): ResolvedHealthCheck {
  const resolved: ResolvedHealthCheck = {
    path: options.path ?? '/health',
    intervalMs: options.intervalMs ?? 2_000,
    timeoutMs: options.timeoutMs ?? 1_500,
    unhealthyThreshold: options.unhealthyThreshold ?? 3,
    healthyThreshold: options.healthyThreshold ?? 2,
  };
  if (!resolved.path.startsWith('/')) throw new Error(`healthCheck.path must start with "/", got ${JSON.stringify(resolved.path)}`);
  for (const key of ['intervalMs', 'timeoutMs', 'unhealthyThreshold', 'healthyThreshold'] as const) {
    const value = resolved[key];
    if (!Number.isInteger(value) || value < 1) throw new Error(`healthCheck.${key} must be a positive integer, got ${value}`);
  }
  // As an ALB requires: a check must end before the next one starts.
  if (resolved.timeoutMs >= resolved.intervalMs) {
    throw new Error(`healthCheck.timeoutMs must be less than intervalMs (${resolved.intervalMs}), got ${resolved.timeoutMs}`);
  }
  return resolved;
}

/** An HTTP GET without keep-alive (a check must not hold the instance's connections open). */
export const httpProbe: HealthProbe = (url, timeoutMs) =>
  new Promise<boolean>((resolve) => {
    const call = request(url, { method: 'GET', agent: false, timeout: timeoutMs }, (response) => {
      response.resume();
      resolve(response.statusCode !== undefined && response.statusCode >= 200 && response.statusCode < 300);
    });
    call.once('timeout', () => call.destroy(new Error('health check timed out')));
    call.once('error', () => resolve(false));
    call.end();
  });

interface Tracked {
  /** The registration the counts belong to: a re-registration is a new instance and starts afresh. */
  readonly attributes: Readonly<Record<string, string>>;
  failures: number;
  successes: number;
}

/** Checks every registered instance that has an address, and sets its custom health from the results. */
export class HealthChecker {
  private readonly settings: ResolvedHealthCheck;
  private readonly tracked = new Map<string, Tracked>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly state: RegistryState,
    options: HealthCheckOptions = {},
    private readonly probe: HealthProbe = httpProbe,
  ) {
    this.settings = resolveHealthCheck(options);
  }

  /**
   * One round: probes every instance once, in parallel, then applies the results to the registrations
   * that are still the ones probed. Tests call it directly; {@link start} repeats it every interval.
   */
  async round(): Promise<void> {
    const targets = this.state
      .registrations()
      .map((registration) => ({ registration, url: instanceUrl(registration.attributes, this.settings.path) }))
      .filter((target): target is typeof target & { url: string } => target.url !== undefined);
    const live = new Set(targets.map(({ registration }) => key(registration.serviceId, registration.instanceId)));
    for (const id of this.tracked.keys()) if (!live.has(id)) this.tracked.delete(id);

    const results = await Promise.all(targets.map(async (target) => ({ ...target, healthy: await this.probe(target.url, this.settings.timeoutMs) })));
    if (this.stopped) return;
    const current = new Map(this.state.registrations().map((registration) => [key(registration.serviceId, registration.instanceId), registration]));
    for (const { registration, healthy } of results) {
      const id = key(registration.serviceId, registration.instanceId);
      const now = current.get(id);
      // Deregistered, or registered again, while the check ran: this result is about an instance that is gone.
      if (now === undefined || now.attributes !== registration.attributes) continue;
      this.apply(id, now, healthy);
    }
  }

  /** Runs a round every interval until {@link stop}. */
  start(): void {
    const loop = (): void => {
      this.running = this.round().finally(() => {
        this.running = undefined;
        if (!this.stopped) this.timer = setTimeout(loop, this.settings.intervalMs);
      });
    };
    this.timer = setTimeout(loop, this.settings.intervalMs);
  }

  /** Stops checking; resolves once a round in progress has ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private apply(
    id: string,
    registration: {
      readonly serviceId: string;
      readonly instanceId: string;
      readonly attributes: Readonly<Record<string, string>>;
      readonly health: InstanceHealth;
    },
    healthy: boolean,
  ): void {
    let tracked = this.tracked.get(id);
    if (tracked === undefined || tracked.attributes !== registration.attributes) {
      tracked = { attributes: registration.attributes, failures: 0, successes: 0 };
      this.tracked.set(id, tracked);
    }
    if (healthy) {
      tracked.failures = 0;
      tracked.successes += 1;
      if (registration.health === 'UNHEALTHY' && tracked.successes >= this.settings.healthyThreshold)
        this.state.setHealth(registration.serviceId, registration.instanceId, 'HEALTHY');
    } else {
      tracked.successes = 0;
      tracked.failures += 1;
      if (registration.health === 'HEALTHY' && tracked.failures >= this.settings.unhealthyThreshold)
        this.state.setHealth(registration.serviceId, registration.instanceId, 'UNHEALTHY');
    }
  }
}

function key(serviceId: string, instanceId: string): string {
  return `${serviceId}\u0000${instanceId}`;
}

/** The health URL of an instance from its Cloud Map address attributes; undefined when it has none to check. */
export function instanceUrl(attributes: Readonly<Record<string, string>>, path: string): string | undefined {
  const host = attributes.AWS_INSTANCE_IPV4;
  const port = attributes.AWS_INSTANCE_PORT;
  if (host === undefined || port === undefined || !/^[0-9]{1,5}$/.test(port)) return undefined;
  return `http://${host}:${port}${path}`;
}
