/** Service processes started from the esbuild bundles, as the containers and `npm start` run them. */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { bundleService, SERVICE_ENTRIES } from '../../lib/service/service-bundle';

/** Bundles a service into a fresh temporary folder; the caller removes it. */
export async function bundle(service: keyof typeof SERVICE_ENTRIES): Promise<string> {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), `gatehouse-${service}-`));
  return (await bundleService(SERVICE_ENTRIES[service], outdir)).file;
}

/** A running service process and its JSON log lines. */
export interface ServiceProcess {
  readonly child: ChildProcess;
  readonly url: string;
  readonly logs: Record<string, unknown>[];
  /** Resolves with the exit code. */
  readonly exited: Promise<number | null>;
}

/** Starts `node file` with `env` and resolves once it logs that it listens. */
export async function startProcess(file: string, env: Record<string, string>): Promise<ServiceProcess> {
  const child = spawn(process.execPath, [file], { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: Record<string, unknown>[] = [];
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    let buffered = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        const entry = JSON.parse(line) as Record<string, unknown>;
        logs.push(entry);
        if (entry.msg === 'listening') resolve(`http://127.0.0.1:${String(entry.port)}`);
      }
    });
    void exited.then((code) => reject(new Error(`process exited with ${code} before listening: ${stderr}`)));
  });
  return { child, url, logs, exited };
}
