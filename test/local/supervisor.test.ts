/**
 * The local supervisor: restart waits that double to a bound and reset after a good run, a dead
 * instance taken out of service before the wait, and no restart once stopped. A fake clock drives the
 * waits; fake incarnations die when told to.
 */
import { RestartBackoff, Supervisor } from '../../local/supervisor';
import type { Incarnation, SupervisorClock } from '../../local/supervisor';

describe('RestartBackoff', () => {
  it('waits 200 ms, then doubles each time up to 5 s', () => {
    const backoff = new RestartBackoff();
    expect(Array.from({ length: 8 }, () => backoff.delay(0))).toEqual([200, 400, 800, 1600, 3200, 5000, 5000, 5000]);
  });

  it('starts again from the first wait after an instance stayed up long enough', () => {
    const backoff = new RestartBackoff({ initialMs: 100, maxMs: 1000, resetAfterMs: 10_000 });
    expect([backoff.delay(0), backoff.delay(50), backoff.delay(9_999)]).toEqual([100, 200, 400]);
    expect([backoff.delay(10_000), backoff.delay(0)]).toEqual([100, 200]);
  });

  it('refuses settings that name no sensible wait', () => {
    expect(() => new RestartBackoff({ initialMs: 0 })).toThrow('backoff.initialMs must be a positive number of milliseconds, got 0');
    expect(() => new RestartBackoff({ initialMs: 500, maxMs: 100 })).toThrow('backoff.maxMs must be at least initialMs (500), got 100');
  });
});

/** A clock whose timers fire only when the test says so. */
class FakeClock implements SupervisorClock {
  time = 0;
  readonly timers: { callback: () => void; ms: number; cleared: boolean }[] = [];
  private waiting: ((ms: number) => void) | undefined;

  now(): number {
    return this.time;
  }
  setTimeout(callback: () => void, ms: number): unknown {
    const timer = { callback, ms, cleared: false };
    this.timers.push(timer);
    this.waiting?.(ms);
    this.waiting = undefined;
    return timer;
  }
  clearTimeout(handle: unknown): void {
    (handle as { cleared: boolean }).cleared = true;
  }
  /** Resolves with the wait of the next timer set (at once if one is pending). */
  nextTimer(): Promise<number> {
    const pending = this.timers.find((timer) => !timer.cleared);
    if (pending !== undefined) return Promise.resolve(pending.ms);
    return new Promise((resolve) => (this.waiting = resolve));
  }
  /** Lets `ms` pass and fires the pending timer. */
  fire(): void {
    const timer = this.timers.find((candidate) => !candidate.cleared);
    if (timer === undefined) throw new Error('no timer pending');
    timer.cleared = true;
    this.time += timer.ms;
    timer.callback();
  }
}

/** An incarnation that dies when the test calls `die`. */
interface Fake extends Incarnation {
  readonly id: number;
  die(code: number | null): void;
  stopped: boolean;
}

function harness(options: { failStarts?: number } = {}) {
  const clock = new FakeClock();
  const events: string[] = [];
  let made = 0;
  let failures = options.failStarts ?? 0;
  const ready: ((fake: Fake) => void)[] = [];
  const supervisor = new Supervisor<Fake>({
    name: 'product-1',
    clock,
    start: async () => {
      if (made > 0 && failures > 0) {
        failures -= 1;
        throw new Error('exited before listening');
      }
      made += 1;
      let die: (code: number | null) => void = () => undefined;
      const exited = new Promise<number | null>((resolve) => (die = resolve));
      const fake: Fake = {
        id: made,
        exited,
        stopped: false,
        die,
        stop: async () => {
          fake.stopped = true;
          die(0);
        },
      };
      return fake;
    },
    onReady: (fake) => {
      events.push(`ready ${fake.id}`);
      ready.shift()?.(fake);
    },
    onDeath: (fake, code) => void events.push(`deregister ${fake.id} (${code})`),
    onError: (error) => events.push(`error: ${error instanceof Error ? error.message : String(error)}`),
  });
  const nextReady = () => new Promise<Fake>((resolve) => ready.push(resolve));
  return { clock, events, supervisor, nextReady };
}

describe('Supervisor', () => {
  it('takes a dead instance out of service at once, then restarts it after the wait', async () => {
    const { clock, events, supervisor, nextReady } = harness();
    const first = await supervisor.start();
    first.die(null);
    expect(await clock.nextTimer()).toBe(200);
    // Deregistered before the wait, not after it.
    expect(events).toEqual(['ready 1', 'deregister 1 (null)']);
    expect(supervisor.current).toBeUndefined();

    const back = nextReady();
    clock.fire();
    expect((await back).id).toBe(2);
    expect(supervisor.current?.id).toBe(2);
    expect(supervisor.restarts).toBe(1);
  });

  it('waits longer after each quick death, and from the start again after a long run', async () => {
    const { clock, supervisor, nextReady } = harness();
    let current = await supervisor.start();
    const waits: number[] = [];
    for (let index = 0; index < 3; index += 1) {
      current.die(1);
      waits.push(await clock.nextTimer());
      const back = nextReady();
      clock.fire();
      current = await back;
    }
    clock.time += 60_000;
    current.die(1);
    waits.push(await clock.nextTimer());
    expect(waits).toEqual([200, 400, 800, 200]);
  });

  it('counts a restart that fails to start as a quick death and tries again after a longer wait', async () => {
    const { clock, events, supervisor, nextReady } = harness({ failStarts: 2 });
    (await supervisor.start()).die(1);
    expect(await clock.nextTimer()).toBe(200);
    clock.fire();
    expect(await clock.nextTimer()).toBe(400);
    clock.fire();
    expect(await clock.nextTimer()).toBe(800);
    const back = nextReady();
    clock.fire();
    expect((await back).id).toBe(2);
    expect(events.filter((event) => event.startsWith('error'))).toEqual(['error: exited before listening', 'error: exited before listening']);
  });

  it('neither restarts nor deregisters what it was asked to stop', async () => {
    const { clock, events, supervisor } = harness();
    const first = await supervisor.start();
    await supervisor.stop();
    expect(first.stopped).toBe(true);
    expect(clock.timers).toEqual([]);
    expect(events).toEqual(['ready 1']);
  });

  it('once retired, leaves an instance that exits alone, neither deregistered nor restarted', async () => {
    const { clock, events, supervisor } = harness();
    const first = await supervisor.start();
    supervisor.retire();
    first.die(0);
    await first.exited;
    await supervisor.stop();
    expect(clock.timers).toEqual([]);
    expect(events).toEqual(['ready 1']);
  });

  it('cancels a pending restart when stopped during the wait', async () => {
    const { clock, supervisor } = harness();
    (await supervisor.start()).die(1);
    await clock.nextTimer();
    await supervisor.stop();
    expect(clock.timers.every((timer) => timer.cleared)).toBe(true);
    expect(supervisor.current).toBeUndefined();
  });
});
