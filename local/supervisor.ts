/**
 * What ECS does for a service's tasks, for one local instance: start it, and when it dies without being
 * asked to stop, have it deregistered at once and start it again, waiting longer after each quick death
 * (ECS throttles the restarts of tasks that fail to start too). The waits double from `initialMs` up to
 * `maxMs`, and go back to `initialMs` once an instance has stayed up for `resetAfterMs`.
 *
 * The clock is injected, so that tests drive the waits without sleeping.
 */

/** The restart waits. */
export interface BackoffOptions {
  /** The first wait, in milliseconds. @default - 200 */
  readonly initialMs?: number;
  /** The longest wait, in milliseconds. @default - 5000 */
  readonly maxMs?: number;
  /** An instance up this long, in milliseconds, counts as having started well: the next wait is the first again. @default - 10000 */
  readonly resetAfterMs?: number;
}

/** The wait before each restart: doubling, bounded, reset after a good run. Pure apart from its own count. */
export class RestartBackoff {
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly resetAfterMs: number;
  private nextMs: number;

  constructor(options: BackoffOptions = {}) {
    this.initialMs = options.initialMs ?? 200;
    this.maxMs = options.maxMs ?? 5_000;
    this.resetAfterMs = options.resetAfterMs ?? 10_000;
    for (const [name, value] of [
      ['initialMs', this.initialMs],
      ['maxMs', this.maxMs],
      ['resetAfterMs', this.resetAfterMs],
    ] as const) {
      if (!(Number.isFinite(value) && value > 0)) throw new Error(`backoff.${name} must be a positive number of milliseconds, got ${value}`);
    }
    if (this.maxMs < this.initialMs) throw new Error(`backoff.maxMs must be at least initialMs (${this.initialMs}), got ${this.maxMs}`);
    this.nextMs = this.initialMs;
  }

  /** The wait before restarting an instance that ran for `uptimeMs` before it died (0: it never started). */
  delay(uptimeMs: number): number {
    if (uptimeMs >= this.resetAfterMs) this.nextMs = this.initialMs;
    const delay = this.nextMs;
    this.nextMs = Math.min(this.maxMs, delay * 2);
    return delay;
  }
}

/** One run of the supervised process. */
export interface Incarnation {
  /** Resolves with the exit code once the process has exited, for whatever reason. */
  readonly exited: Promise<number | null>;
  /** Asks it to stop (and waits until it has). */
  stop(): Promise<void>;
}

/** The timers a supervisor uses; tests pass a fake one. */
export interface SupervisorClock {
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The real clock. */
export const SYSTEM_CLOCK: SupervisorClock = {
  now: () => performance.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** Options of {@link Supervisor}. */
export interface SupervisorOptions<T extends Incarnation> {
  /** The instance's name, for messages. */
  readonly name: string;
  /** Starts one incarnation and resolves once it is ready; rejects when it could not start. */
  readonly start: () => Promise<T>;
  /**
   * Told at once when an incarnation died unasked, before the wait: take it out of service
   * (deregister it). A failure here is reported through `onError` and does not stop the restart.
   */
  readonly onDeath?: (dead: T, code: number | null) => Promise<void> | void;
  /** Told each time an incarnation is ready, the first one included. */
  readonly onReady?: (started: T) => void;
  /** Told when a restart is scheduled, with its wait in milliseconds. */
  readonly onRestartScheduled?: (delayMs: number, code: number | null) => void;
  /** Told what went wrong while restarting (a failed start, a failed onDeath). */
  readonly onError?: (error: unknown) => void;
  /** @default - 200 ms doubling to 5 s, reset after 10 s up */
  readonly backoff?: BackoffOptions;
  /** @default - SYSTEM_CLOCK */
  readonly clock?: SupervisorClock;
}

/** Keeps one instance running until {@link Supervisor.stop}. */
export class Supervisor<T extends Incarnation> {
  /** The number of restarts so far. */
  restarts = 0;
  private incarnation: T | undefined;
  private readonly backoff: RestartBackoff;
  private readonly clock: SupervisorClock;
  private stopping = false;
  private timer: unknown;
  private starting: Promise<unknown> | undefined;

  constructor(private readonly options: SupervisorOptions<T>) {
    this.backoff = new RestartBackoff(options.backoff);
    this.clock = options.clock ?? SYSTEM_CLOCK;
  }

  /** The running incarnation, if any (none between a death and its restart). */
  get current(): T | undefined {
    return this.incarnation;
  }

  /** Starts the first incarnation; a failure here is thrown, not retried (the caller decides). */
  async start(): Promise<T> {
    const started = await this.options.start();
    this.adopt(started);
    return started;
  }

  /**
   * No more restarts, from now on; the running incarnation keeps running. The first step of stopping
   * a whole system: a terminal's Ctrl-C reaches every process of the group at once, and an instance
   * that exits on it must not be taken for one that died.
   */
  retire(): void {
    this.stopping = true;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** No more restarts; stops the running incarnation, if any. Safe to call twice. */
  async stop(): Promise<void> {
    this.retire();
    // A restart under way: let it finish, then stop what it started.
    await this.starting?.catch(() => undefined);
    const running = this.incarnation;
    this.incarnation = undefined;
    await running?.stop();
  }

  private adopt(started: T): void {
    if (this.stopping) {
      void started.stop();
      return;
    }
    this.incarnation = started;
    const since = this.clock.now();
    this.options.onReady?.(started);
    void started.exited.then((code) => this.died(started, code, this.clock.now() - since));
  }

  private async died(dead: T, code: number | null, uptimeMs: number): Promise<void> {
    if (this.stopping || this.incarnation !== dead) return;
    this.incarnation = undefined;
    try {
      await this.options.onDeath?.(dead, code);
    } catch (error) {
      this.options.onError?.(error);
    }
    this.schedule(uptimeMs, code);
  }

  private schedule(uptimeMs: number, code: number | null): void {
    if (this.stopping) return;
    const delay = this.backoff.delay(uptimeMs);
    this.options.onRestartScheduled?.(delay, code);
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      this.restarts += 1;
      this.starting = this.options.start().then(
        (started) => this.adopt(started),
        (error: unknown) => {
          this.options.onError?.(error);
          // It never came up: the next wait is longer.
          this.schedule(0, null);
        },
      );
    }, delay);
  }
}
