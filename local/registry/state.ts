/**
 * The registry's in-memory state: services declared at start, the instances registered in them and
 * their custom health. Pure, synchronous and free of HTTP, so the Cloud Map semantics can be read
 * (and tested) apart from the wire protocol.
 *
 * Where Cloud Map and moto (the reference this registry is checked against) disagree, the choice is
 * written at the rule; test/registry/registry-contract.ts holds what both agree on.
 */
import { randomInt } from 'node:crypto';

/** A Cloud Map service to declare when the registry starts. */
export interface RegistryServiceSpec {
  /** The `HttpName` of the namespace, the `NamespaceName` that `DiscoverInstances` is called with. */
  readonly namespace: string;
  /** The service name, the `ServiceName` that `DiscoverInstances` is called with. */
  readonly name: string;
}

/** The health an instance can have; the registry never reports `UNKNOWN` (see {@link RegistryState}). */
export type InstanceHealth = 'HEALTHY' | 'UNHEALTHY';

/** Which instances `DiscoverInstances` returns, by health. */
export type HealthStatusFilter = 'HEALTHY' | 'UNHEALTHY' | 'ALL' | 'HEALTHY_OR_ELSE_ALL';

/** The values of {@link InstanceHealth}, for input checks. */
export const INSTANCE_HEALTH_VALUES: readonly InstanceHealth[] = ['HEALTHY', 'UNHEALTHY'];

/** The values of {@link HealthStatusFilter}, for input checks. */
export const HEALTH_STATUS_FILTERS: readonly HealthStatusFilter[] = ['HEALTHY', 'UNHEALTHY', 'ALL', 'HEALTHY_OR_ELSE_ALL'];

/**
 * The attribute with which a registration picks its first health, as Cloud Map documents it for services
 * with a custom health check (RegisterInstance, `Attributes`).
 */
export const INIT_HEALTH_ATTRIBUTE = 'AWS_INIT_HEALTH_STATUS';

/** The Cloud Map error types this state raises; the HTTP edge sends them as the `__type` of the error. */
export type RegistryErrorCode = 'InvalidInput' | 'NamespaceNotFound' | 'ServiceNotFound' | 'InstanceNotFound';

/** A request Cloud Map would refuse; `code` is the AWS error type the SDK maps to its exception class. */
export class RegistryError extends Error {
  override readonly name = 'RegistryError';
  constructor(
    readonly code: RegistryErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** One registration, as `RegisterInstance` receives it (already checked for shape). */
export interface Registration {
  readonly serviceId: string;
  readonly instanceId: string;
  readonly attributes: Readonly<Record<string, string>>;
}

/** A `DiscoverInstances` query (already checked for shape). */
export interface DiscoveryQuery {
  readonly namespace: string;
  readonly serviceName: string;
  readonly healthStatus: HealthStatusFilter;
  readonly queryParameters: Readonly<Record<string, string>>;
  readonly optionalParameters: Readonly<Record<string, string>>;
  readonly maxResults: number;
}

/** One instance found by discovery. */
export interface DiscoveredInstance {
  readonly instanceId: string;
  readonly namespace: string;
  readonly serviceName: string;
  readonly health: InstanceHealth;
  readonly attributes: Readonly<Record<string, string>>;
}

/** What discovery found, with the service's instances revision. */
export interface Discovery {
  readonly instances: readonly DiscoveredInstance[];
  readonly revision: number;
}

interface Instance {
  readonly attributes: Readonly<Record<string, string>>;
  health: InstanceHealth;
}

interface Service {
  readonly id: string;
  readonly namespace: string;
  readonly name: string;
  /** In registration order; a re-registration keeps its place (Map semantics). */
  readonly instances: Map<string, Instance>;
  revision: number;
}

/**
 * The registry's services and instances.
 *
 * Every declared service behaves like a Cloud Map service created with `HealthCheckCustomConfig` (the
 * kind ECS uses): an instance starts HEALTHY, or as `AWS_INIT_HEALTH_STATUS` says, and changes only
 * through `UpdateInstanceCustomHealthStatus`. Hence no instance is ever `UNKNOWN`.
 */
export class RegistryState {
  private readonly byId = new Map<string, Service>();

  /** @throws Error naming the spec when a name is one Cloud Map would refuse, or a service is declared twice. */
  constructor(specs: readonly RegistryServiceSpec[]) {
    for (const [index, spec] of specs.entries()) checkSpec(spec, index);
    for (const spec of specs) {
      if (this.find(spec.namespace, spec.name) !== undefined) {
        throw new Error(`services: "${spec.name}" in namespace "${spec.namespace}" is declared twice`);
      }
      let id = randomServiceId();
      while (this.byId.has(id)) id = randomServiceId();
      this.byId.set(id, { id, namespace: spec.namespace, name: spec.name, instances: new Map(), revision: 0 });
    }
  }

  /** The id of a declared service, or undefined. */
  serviceId(namespace: string, name: string): string | undefined {
    return this.find(namespace, name)?.id;
  }

  /** Every declared service with its id, in declaration order. */
  services(): ReadonlyArray<RegistryServiceSpec & { readonly id: string }> {
    return [...this.byId.values()].map(({ id, namespace, name }) => ({ id, namespace, name }));
  }

  /**
   * Registers an instance, or replaces the registration with the same id (Cloud Map updates it in
   * place; moto 5.2.1 appends a second copy instead). A re-registration starts its health afresh:
   * Cloud Map documents that it replaces a re-registered instance's health check, and the registry
   * reads that as true of the custom one too.
   */
  register(registration: Registration): void {
    const service = this.service(registration.serviceId);
    const init = registration.attributes[INIT_HEALTH_ATTRIBUTE];
    // moto ignores AWS_INIT_HEALTH_STATUS (always HEALTHY); Cloud Map honours it, and so do we.
    if (init !== undefined && !isInstanceHealth(init)) {
      throw new RegistryError('InvalidInput', `${INIT_HEALTH_ATTRIBUTE} must be HEALTHY or UNHEALTHY, got "${init}"`);
    }
    service.instances.set(registration.instanceId, {
      attributes: { ...registration.attributes },
      health: init ?? 'HEALTHY',
    });
    service.revision += 1;
  }

  /** Removes an instance. */
  deregister(serviceId: string, instanceId: string): void {
    const service = this.service(serviceId);
    if (!service.instances.delete(instanceId)) throw instanceNotFound(service, instanceId);
    service.revision += 1;
  }

  /**
   * The instances a `DiscoverInstances` call returns. The order is registration order, where Cloud
   * Map shuffles: callers must not depend on it either way.
   */
  discover(query: DiscoveryQuery): Discovery {
    if (!this.hasNamespace(query.namespace)) throw new RegistryError('NamespaceNotFound', `Namespace not found: ${query.namespace}`);
    const service = this.find(query.namespace, query.serviceName);
    if (service === undefined) {
      throw new RegistryError('ServiceNotFound', `Service not found: ${query.serviceName} in namespace ${query.namespace}`);
    }
    const matching = [...service.instances].filter(([, instance]) => hasAll(instance.attributes, query.queryParameters));
    const byHealth = filterByHealth(matching, query.healthStatus);
    // OptionalParameters narrow the answer only when something matches them, else they are ignored.
    const preferred = byHealth.filter(([, instance]) => hasAll(instance.attributes, query.optionalParameters));
    const chosen = preferred.length > 0 ? preferred : byHealth;
    return {
      instances: chosen.slice(0, query.maxResults).map(([instanceId, instance]) => ({
        instanceId,
        namespace: service.namespace,
        serviceName: service.name,
        health: instance.health,
        attributes: instance.attributes,
      })),
      revision: service.revision,
    };
  }

  /** Every registered instance of every service, with its address attributes and health: what a health checker probes. */
  registrations(): ReadonlyArray<Registration & { readonly health: InstanceHealth }> {
    return [...this.byId.values()].flatMap((service) =>
      [...service.instances].map(([instanceId, instance]) => ({ serviceId: service.id, instanceId, attributes: instance.attributes, health: instance.health })),
    );
  }

  /**
   * The health of the service's instances, in registration order; of only `instanceIds` when given.
   * Ids that are not registered are left out, as moto does.
   */
  healthStatuses(serviceId: string, instanceIds?: readonly string[]): ReadonlyArray<readonly [string, InstanceHealth]> {
    const service = this.service(serviceId);
    const wanted = instanceIds === undefined ? undefined : new Set(instanceIds);
    return [...service.instances]
      .filter(([instanceId]) => wanted === undefined || wanted.has(instanceId))
      .map(([instanceId, instance]) => [instanceId, instance.health] as const);
  }

  /** Sets the custom health of an instance; it does not change the instances revision (Cloud Map neither). */
  setHealth(serviceId: string, instanceId: string, health: InstanceHealth): void {
    const service = this.service(serviceId);
    const instance = service.instances.get(instanceId);
    if (instance === undefined) throw instanceNotFound(service, instanceId);
    instance.health = health;
  }

  private service(serviceId: string): Service {
    const service = this.byId.get(serviceId);
    if (service === undefined) throw new RegistryError('ServiceNotFound', `Service not found: ${serviceId}`);
    return service;
  }

  private find(namespace: string, name: string): Service | undefined {
    for (const service of this.byId.values()) if (service.namespace === namespace && service.name === name) return service;
    return undefined;
  }

  private hasNamespace(namespace: string): boolean {
    for (const service of this.byId.values()) if (service.namespace === namespace) return true;
    return false;
  }
}

/** Whether a string is an {@link InstanceHealth}. */
export function isInstanceHealth(value: string): value is InstanceHealth {
  return (INSTANCE_HEALTH_VALUES as readonly string[]).includes(value);
}

/** A service id shaped like Cloud Map's: `srv-` and 16 lowercase letters and digits. */
export function randomServiceId(): string {
  let suffix = '';
  for (let index = 0; index < 16; index += 1) suffix += ID_ALPHABET[randomInt(ID_ALPHABET.length)];
  return `srv-${suffix}`;
}

const ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

// The HttpName of an HTTP namespace and the name of a service, as the Cloud Map API reference
// constrains them (CreateHttpNamespace `Name`, CreateService `Name`): a name Cloud Map would refuse
// must not work locally and then fail on deploy.
const NAMESPACE_NAME = /^[!-~]{1,1024}$/;
const SERVICE_LABEL = '(?:[a-zA-Z0-9_][a-zA-Z0-9_-]{0,61}[a-zA-Z0-9_]|[a-zA-Z0-9])';
const SERVICE_NAME = new RegExp(`^(?=.{1,127}$)${SERVICE_LABEL}(?:\\.${SERVICE_LABEL})*$`);

function checkSpec(spec: RegistryServiceSpec, index: number): void {
  if (typeof spec.namespace !== 'string' || !NAMESPACE_NAME.test(spec.namespace)) {
    throw new Error(`services[${index}].namespace must be 1 to 1024 printable ASCII characters without spaces, got ${JSON.stringify(spec.namespace)}`);
  }
  if (typeof spec.name !== 'string' || !SERVICE_NAME.test(spec.name)) {
    throw new Error(`services[${index}].name must be a Cloud Map service name (DNS labels of letters, digits, _ and -), got ${JSON.stringify(spec.name)}`);
  }
}

function hasAll(attributes: Readonly<Record<string, string>>, wanted: Readonly<Record<string, string>>): boolean {
  return Object.entries(wanted).every(([key, value]) => Object.hasOwn(attributes, key) && attributes[key] === value);
}

function filterByHealth<T extends readonly [string, Instance]>(instances: readonly T[], filter: HealthStatusFilter): T[] {
  const healthy = instances.filter(([, instance]) => instance.health === 'HEALTHY');
  switch (filter) {
    case 'ALL':
      return [...instances];
    case 'HEALTHY':
      return healthy;
    case 'UNHEALTHY':
      return instances.filter(([, instance]) => instance.health === 'UNHEALTHY');
    case 'HEALTHY_OR_ELSE_ALL':
      // Fail open among the instances that match the query; moto decides "none healthy" before the
      // QueryParameters filter, so it can answer nothing where Cloud Map's "failing open" answers all.
      return healthy.length > 0 ? healthy : [...instances];
  }
}

function instanceNotFound(service: Service, instanceId: string): RegistryError {
  return new RegistryError('InstanceNotFound', `Instance not found: ${instanceId} in service ${service.id}`);
}
