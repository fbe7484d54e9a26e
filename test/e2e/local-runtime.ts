/**
 * What the end-to-end tests need to watch the local runtime: awaiting a condition (never a fixed
 * sleep), whether a pid lives, what the embedded registry says, and an instance coming back after
 * the supervisor restarted it.
 */
import { DiscoverInstancesCommand } from '@aws-sdk/client-servicediscovery';
import type { HealthStatusFilter } from '@aws-sdk/client-servicediscovery';
import { LOCAL_NAMESPACE } from '../../local/system';
import { createServiceDiscoveryClient } from '../../services/common/lifecycle';
import type { LocalInstance, LocalRuntime } from './target';

/**
 * Resolves with the first truthy result of `check`, asked every `intervalMs`; rejects with `what`
 * once `timeoutMs` has passed. A bound generous enough for a loaded two-core machine.
 */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  options: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  for (;;) {
    const result = await check();
    if (result !== undefined && result !== false) return result;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 50));
  }
}

/** Whether a process with this pid exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The instances the registry returns for `service`, by id, with their URLs. */
export async function registered(registryEndpoint: string, service: string, healthStatus: HealthStatusFilter = 'HEALTHY'): Promise<Map<string, string>> {
  const client = createServiceDiscoveryClient(registryEndpoint, 'local');
  try {
    const answer = await client.send(new DiscoverInstancesCommand({ NamespaceName: LOCAL_NAMESPACE, ServiceName: service, HealthStatus: healthStatus }));
    return new Map(
      (answer.Instances ?? []).map((instance) => [
        String(instance.InstanceId),
        `http://${instance.Attributes?.AWS_INSTANCE_IPV4}:${instance.Attributes?.AWS_INSTANCE_PORT}`,
      ]),
    );
  } finally {
    client.destroy();
  }
}

/** The instance as the outputs file names it now. */
export function instanceOf(local: LocalRuntime, instance: string): LocalInstance {
  const found = local.processes().find((entry) => entry.instance === instance);
  if (found === undefined) throw new Error(`the outputs name no ${instance}`);
  return found;
}

/**
 * Waits until `instance` runs again as a process other than `dead` and the registry returns it
 * HEALTHY at its new address: the supervisor restarted it and it registered itself.
 */
export async function restarted(local: LocalRuntime, service: string, dead: LocalInstance): Promise<LocalInstance> {
  return eventually(
    `${dead.instance} to be restarted and registered again`,
    async () => {
      const now = local.processes().find((entry) => entry.instance === dead.instance);
      if (now === undefined || now.pid === dead.pid || !alive(now.pid)) return undefined;
      return (await registered(local.registryEndpoint, service)).get(dead.instance) === now.url ? now : undefined;
    },
    { timeoutMs: 60_000 },
  );
}
