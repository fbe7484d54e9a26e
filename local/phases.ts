/**
 * Where `npm start` spends its time: each phase with when it began (ms since the process started, so
 * module loading shows too) and how long it took. Phases overlap where the start runs them together;
 * `npm start -- --verbose` prints them.
 */

/** One timed phase. */
export interface Phase {
  readonly name: string;
  /** When it began, in ms since the process started. */
  readonly startMs: number;
  readonly durationMs: number;
  /** What is worth knowing about it ("reused", "built"). */
  readonly note?: string;
}

/** Collects phases. */
export class PhaseLog {
  private readonly phases: Phase[] = [];

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** Times `work` as the phase `name`; `note` describes its result. */
  async time<T>(name: string, work: () => Promise<T>, note?: (result: T) => string): Promise<T> {
    const startMs = this.now();
    const result = await work();
    this.phases.push({ name, startMs, durationMs: this.now() - startMs, ...(note !== undefined && { note: note(result) }) });
    return result;
  }

  /** Records a phase that began at `startMs` and ends now. */
  record(name: string, startMs: number, note?: string): void {
    this.phases.push({ name, startMs, durationMs: this.now() - startMs, ...(note !== undefined && { note }) });
  }

  /** The phases, in the order they began. */
  list(): readonly Phase[] {
    return [...this.phases].sort((a, b) => a.startMs - b.startMs);
  }
}

/** One line per phase: `  +  412 ms  bundles ............ 1380 ms (built)`. */
export function formatPhases(phases: readonly Phase[]): string[] {
  const width = Math.max(0, ...phases.map((phase) => phase.name.length));
  return phases.map(
    (phase) =>
      `  at ${String(Math.round(phase.startMs)).padStart(5)} ms  ${phase.name.padEnd(width)}  ${String(Math.round(phase.durationMs)).padStart(5)} ms${phase.note !== undefined ? `  (${phase.note})` : ''}`,
  );
}
