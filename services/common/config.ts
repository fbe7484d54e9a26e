/** Reading a service's configuration from the environment, once, failing fast with the variable's name. */

/** The value of a variable that must be set. */
export function requiredEnv(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name];
  if (value === undefined || value.trim() === '') throw new Error(`environment variable ${name} must be set`);
  return value;
}

/** An optional variable. */
export function optionalEnv(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value.trim() === '' ? undefined : value;
}

/** A whole number from a variable, within bounds, or the default when unset. */
export function integerEnv(env: NodeJS.ProcessEnv, name: string, defaultValue: number, bounds: { min: number; max: number }): number {
  const raw = optionalEnv(env, name);
  if (raw === undefined) return defaultValue;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < bounds.min || value > bounds.max) {
    throw new Error(`environment variable ${name} must be a whole number from ${bounds.min} to ${bounds.max}, got ${JSON.stringify(raw)}`);
  }
  return value;
}
