/**
 * One JSON object per line on stdout, so CloudWatch Logs Insights can query fields directly.
 * Callers pass codes, ids and durations; never a token, a key or a whole event.
 */
import { Console } from 'node:console';

/** Fields of one log line. */
export type LogFields = Readonly<Record<string, string | number | boolean | undefined>>;

/** A structured logger. */
export interface Logger {
  info(fields: LogFields): void;
  warn(fields: LogFields): void;
  error(fields: LogFields): void;
}

/**
 * A logger writing JSON lines to `write`. The default writes through a Console of its own: Lambda
 * patches the global console to prefix each line, which would break the JSON.
 */
export function createJsonLogger(write: (line: string) => void = defaultWriter()): Logger {
  const emit = (level: string) => (fields: LogFields) => write(JSON.stringify({ level, time: new Date().toISOString(), ...fields }));
  return { info: emit('info'), warn: emit('warn'), error: emit('error') };
}

function defaultWriter(): (line: string) => void {
  const out = new Console({ stdout: process.stdout, stderr: process.stderr });
  return (line) => out.log(line);
}
