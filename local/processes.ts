/**
 * Processes of the local runtime: the services from their esbuild bundles, as the containers run them,
 * and the runtime's own parts (dynalite, the registry, the dev issuer). Each signals readiness the same
 * way: a JSON log line `{"msg":"listening","port":N}` on stdout.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';

/** A running process and its JSON log lines. */
export interface ServiceProcess {
  readonly child: ChildProcess;
  readonly url: string;
  /** The readiness line, with whatever else the process said in it. */
  readonly ready: Readonly<Record<string, unknown>>;
  readonly logs: Record<string, unknown>[];
  /** Resolves with the exit code (null when a signal ended it). */
  readonly exited: Promise<number | null>;
}

/** Options of {@link startServiceProcess}. */
export interface StartOptions {
  /** Told every log line (JSON text), for example to write it to a file. */
  readonly onLine?: (line: string) => void;
  /** Keep only this many log lines in `logs`. @default - all */
  readonly keepLogs?: number;
  /** Arguments after the file. @default - none */
  readonly args?: readonly string[];
  /** Options of node itself, before the file (such as `--require`). @default - none */
  readonly nodeOptions?: readonly string[];
  /**
   * Give the child a stdin pipe that this process holds open: the runtime's parts exit when it ends,
   * so that they die with the process that started them, even a SIGKILLed one.
   * @default - false: stdin ignored, as the services run in a container
   */
  readonly stdinPipe?: boolean;
  /** Fail (and kill the child) if it does not signal readiness in this long. @default - 60000 ms */
  readonly readyTimeoutMs?: number;
}

/** The default bound on a process's start: a loaded two-core machine can take seconds. */
const READY_TIMEOUT_MS = 60_000;

/** Starts `node file` with `env` (and PATH) and resolves once it logs that it listens. */
export async function startServiceProcess(file: string, env: Record<string, string>, options: StartOptions = {}): Promise<ServiceProcess> {
  const child = spawn(process.execPath, [...(options.nodeOptions ?? []), file, ...(options.args ?? [])], {
    env: { PATH: process.env.PATH, ...env },
    stdio: [options.stdinPipe === true ? 'pipe' : 'ignore', 'pipe', 'pipe'],
  });
  const logs: Record<string, unknown>[] = [];
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  // A spawn failure (EAGAIN, a missing node) surfaces here and as an exit: never as an unhandled error.
  child.once('error', (error) => (stderr += `${error.message}\n`));
  child.stdin?.on('error', () => undefined);
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    options.onLine?.(chunk.toString().trimEnd());
  });
  const timeoutMs = options.readyTimeoutMs ?? READY_TIMEOUT_MS;
  let timer: NodeJS.Timeout | undefined;
  const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
    let buffered = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        options.onLine?.(line);
        let entry: Record<string, unknown>;
        try {
          entry = JSON.parse(line) as Record<string, unknown>;
        } catch {
          // Not a JSON log line (a stray console.log): kept in the log file, not parsed.
          continue;
        }
        logs.push(entry);
        if (options.keepLogs !== undefined && logs.length > options.keepLogs) logs.shift();
        if (entry.msg === 'listening') resolve(entry);
      }
    });
    void exited.then((code) => reject(new Error(`${file} exited with ${code} before listening: ${stderr.trim()}`)));
    timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${file} did not signal readiness within ${timeoutMs} ms: ${stderr.trim()}`));
    }, timeoutMs);
  }).finally(() => clearTimeout(timer));
  return { child, url: `http://127.0.0.1:${String(ready.port)}`, ready, logs, exited };
}

/**
 * Stops a process: SIGTERM, then SIGKILL if it has not exited after `graceMs`; resolves once it exited.
 * Safe to call on a process that has already exited.
 */
export async function stopProcess(started: Pick<ServiceProcess, 'child' | 'exited'>, graceMs = 30_000): Promise<void> {
  const { child } = started;
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await started.exited;
  clearTimeout(timer);
}
