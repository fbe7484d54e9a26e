/**
 * Running a service process: listen, register in the registry where ECS does not do it (locally),
 * and on SIGTERM or SIGINT stop taking traffic, drain in-flight requests, deregister and exit, all
 * within the container's stop timeout.
 */
import { DeregisterInstanceCommand, RegisterInstanceCommand, ServiceDiscoveryClient } from '@aws-sdk/client-servicediscovery';
import type { FastifyInstance } from 'fastify';
import { SERVICE_ENV } from '../../lib/runtime-env';
import { integerEnv, optionalEnv } from './config';

/** Where and how long to run. */
export interface RunOptions {
  readonly port: number;
  readonly host: string;
  /** Exit anyway after this long once a stop signal came. ECS waits 30 s by default before SIGKILL. */
  readonly shutdownTimeoutMs: number;
  /** Self-registration in a Cloud Map-compatible registry; absent on AWS, where ECS registers tasks. */
  readonly registration?: Registration;
  /** Runs after the server closed, before exit (close clients, flush). */
  readonly onClosed?: () => Promise<void>;
}

/** Self-registration settings. */
export interface Registration {
  readonly client: ServiceDiscoveryClient;
  readonly serviceId: string;
  readonly instanceId: string;
  readonly advertiseHost: string;
}

/** The run options from the environment. */
export function runOptionsFromEnv(env: NodeJS.ProcessEnv, serviceName: string): RunOptions {
  const port = integerEnv(env, SERVICE_ENV.port, 8080, { min: 0, max: 65535 });
  const serviceId = optionalEnv(env, SERVICE_ENV.registryServiceId);
  const endpoint = optionalEnv(env, SERVICE_ENV.cloudMapEndpoint);
  return {
    port,
    host: optionalEnv(env, SERVICE_ENV.host) ?? '0.0.0.0',
    shutdownTimeoutMs: integerEnv(env, SERVICE_ENV.shutdownTimeoutMs, 25_000, { min: 100, max: 120_000 }),
    ...(serviceId !== undefined && {
      registration: {
        client: createServiceDiscoveryClient(endpoint, optionalEnv(env, SERVICE_ENV.region)),
        serviceId,
        instanceId: optionalEnv(env, SERVICE_ENV.instanceId) ?? `${serviceName}-${process.pid}`,
        advertiseHost: optionalEnv(env, SERVICE_ENV.advertiseHost) ?? '127.0.0.1',
      },
    }),
  };
}

/**
 * A Cloud Map client. Against a local endpoint (the embedded registry, moto), DiscoverInstances'
 * `data-` host prefix must be off, and any credentials do.
 */
export function createServiceDiscoveryClient(endpoint: string | undefined, region: string | undefined): ServiceDiscoveryClient {
  return new ServiceDiscoveryClient({
    // throwOnRequestTimeout: without it the timeout only logs a warning (see aws.ts).
    requestHandler: { connectionTimeout: 1_000, requestTimeout: 2_000, throwOnRequestTimeout: true },
    maxAttempts: 2,
    ...(region !== undefined && { region }),
    ...(endpoint !== undefined && {
      endpoint,
      disableHostPrefix: true,
      region: region ?? 'local',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    }),
  });
}

/** Listens and handles stop signals until the process exits. */
export async function run(app: FastifyInstance, options: RunOptions): Promise<void> {
  await app.listen({ port: options.port, host: options.host });
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;
  const registration = options.registration;
  if (registration !== undefined) {
    await registration.client.send(
      new RegisterInstanceCommand({
        ServiceId: registration.serviceId,
        InstanceId: registration.instanceId,
        Attributes: { AWS_INSTANCE_IPV4: registration.advertiseHost, AWS_INSTANCE_PORT: String(port) },
      }),
    );
  }
  app.log.info({ port, instanceId: registration?.instanceId }, 'listening');

  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    app.log.info({ signal }, 'stopping: draining in-flight requests');
    const deadline = setTimeout(() => {
      app.log.error({ timeoutMs: options.shutdownTimeoutMs }, 'shutdown timed out; exiting with requests still open');
      process.exit(1);
    }, options.shutdownTimeoutMs);
    deadline.unref();
    try {
      // Out of the registry first, so that callers stop picking this instance while it drains.
      if (registration !== undefined) {
        await registration.client
          .send(new DeregisterInstanceCommand({ ServiceId: registration.serviceId, InstanceId: registration.instanceId }))
          .catch((error: unknown) => app.log.warn({ error: error instanceof Error ? error.name : String(error) }, 'deregistration failed'));
      }
      await app.close();
      await options.onClosed?.();
      app.log.info('stopped');
      process.exit(0);
    } catch (error) {
      app.log.error({ error: error instanceof Error ? error.message : String(error) }, 'shutdown failed');
      process.exit(1);
    }
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}
