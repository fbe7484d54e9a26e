/** Service processes started from their esbuild bundles, as the containers run them. */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';

/** A running service process and its JSON log lines. */
export interface ServiceProcess {
  readonly child: ChildProcess;
  readonly url: string;
  readonly logs: Record<string, unknown>[];
  /** Resolves with the exit code. */
  readonly exited: Promise<number | null>;
}

/** Options of {@link startServiceProcess}. */
export interface StartOptions {
  /** Told every log line (JSON text), for example to write it to a file. */
  readonly onLine?: (line: string) => void;
  /** Keep only this many log lines in `logs`. @default - all */
  readonly keepLogs?: number;
}

/** Starts `node file` with `env` (and PATH) and resolves once it logs that it listens. */
export async function startServiceProcess(file: string, env: Record<string, string>, options: StartOptions = {}): Promise<ServiceProcess> {
  const child = spawn(process.execPath, [file], { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: Record<string, unknown>[] = [];
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    options.onLine?.(chunk.toString().trimEnd());
  });
  const url = await new Promise<string>((resolve, reject) => {
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
          continue;
        }
        logs.push(entry);
        if (options.keepLogs !== undefined && logs.length > options.keepLogs) logs.shift();
        if (entry.msg === 'listening') resolve(`http://127.0.0.1:${String(entry.port)}`);
      }
    });
    void exited.then((code) => reject(new Error(`process exited with ${code} before listening: ${stderr.trim()}`)));
  });
  return { child, url, logs, exited };
}
