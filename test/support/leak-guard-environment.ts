/**
 * Jest's Node environment, plus one rule: a test file fails if, once its tests and `afterAll` hooks
 * are done, it leaves anything running: a server, a socket, a child process, a pipe, a file watcher.
 *
 * Jest itself only warns about open handles, and only when the whole run fails to exit; a leak then
 * shows up as a run that hangs (or, with several workers, as a worker force-exited with no name on
 * it). Here the file that leaked is named, with what it leaked, and counts as failed.
 *
 * How: the process's active resources (`process.getActiveResourcesInfo()`, which lists ref'd handles
 * and requests only) are counted when the file starts and again when it finishes. Closing a server or
 * a socket frees its handle a few event-loop turns after the close callback, so the check waits for
 * the count to come back, up to {@link SETTLE_MS}, before it calls anything a leak.
 *
 * Timers are left out: jest keeps timers of its own whose number changes while a file runs, so a count
 * cannot tell a leaked one from them. A leaked ref'd timer keeps its worker alive at the end of the run,
 * which jest reports as a worker "force exited"; `.ci/run` fails on that line.
 */
import type { Circus } from '@jest/types';
import { TestEnvironment } from 'jest-environment-node';

/** Resources that jest itself holds a varying number of (see the header). */
const NOT_COUNTED = new Set(['Timeout', 'Immediate']);

/** How long a file's handles may take to go after its last hook; generous for a loaded 2-core machine. */
const SETTLE_MS = 5_000;

type Counts = Map<string, number>;

function countResources(): Counts {
  const counts: Counts = new Map();
  for (const name of process.getActiveResourcesInfo()) if (!NOT_COUNTED.has(name)) counts.set(name, (counts.get(name) ?? 0) + 1);
  return counts;
}

/** What `now` holds beyond `baseline`, as `2 × TCPServerWrap`. */
function excess(baseline: Counts, now: Counts): string[] {
  return [...now].filter(([name, count]) => count > (baseline.get(name) ?? 0)).map(([name, count]) => `${count - (baseline.get(name) ?? 0)} × ${name}`);
}

/** Waits, one event-loop turn at a time, for the resources to fall back to `baseline`. */
async function leftOpen(baseline: Counts): Promise<string[]> {
  const deadline = Date.now() + SETTLE_MS;
  for (;;) {
    const open = excess(baseline, countResources());
    if (open.length === 0 || Date.now() >= deadline) return open;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The project's test environment (jest.config.js `testEnvironment`). */
export default class LeakGuardEnvironment extends TestEnvironment {
  private baseline: Counts = new Map();

  async handleTestEvent(event: Circus.AsyncEvent | Circus.SyncEvent, state: Circus.State): Promise<void> {
    if (event.name === 'setup') this.baseline = countResources();
    if (event.name !== 'run_finish') return;
    const open = await leftOpen(this.baseline);
    if (open.length > 0) {
      state.unhandledErrors.push(
        new Error(
          `the test file left ${open.join(', ')} open after its last afterAll (${SETTLE_MS / 1000} s later): ` +
            'close every server, client, child process and timer it started in afterAll',
        ),
      );
    }
  }
}
