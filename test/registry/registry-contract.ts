/**
 * What a Cloud Map-compatible registry must do, as one jest suite run against more than one backend:
 * the embedded LocalRegistry (test/registry/local-registry.test.ts) and moto's server
 * (test/moto/registry.moto.ts), all through the unmodified SDK client.
 *
 * It holds only behaviour on which moto 5.2.1 and the LocalRegistry agree, and which Cloud Map
 * documents. Where moto parts from Cloud Map the case says so, asserts only the common ground, and the
 * LocalRegistry's own tests pin down its (Cloud Map) behaviour.
 */
import {
  DeregisterInstanceCommand,
  DiscoverInstancesCommand,
  GetInstancesHealthStatusCommand,
  InstanceNotFound,
  InvalidInput,
  NamespaceNotFound,
  RegisterInstanceCommand,
  ServiceNotFound,
  UpdateInstanceCustomHealthStatusCommand,
} from '@aws-sdk/client-servicediscovery';
import type { DiscoverInstancesCommandInput, HttpInstanceSummary, ServiceDiscoveryClient } from '@aws-sdk/client-servicediscovery';
import { InstanceDirectory } from '../../services/order/discovery';

/** A registry to run the contract against: a client pointed at it and one empty service in it. */
export interface RegistryBackend {
  readonly client: ServiceDiscoveryClient;
  /** The id of the service the cases register in; it has a custom health check and no instances. */
  readonly serviceId: string;
  /** The namespace (`HttpName`) the service is in. */
  readonly namespace: string;
  readonly serviceName: string;
  /** Releases the backend's client and whatever else it made. */
  close(): Promise<void>;
}

/** Two instances of one service, as the order service would find the product service. */
const A = { id: 'product-a', attributes: { AWS_INSTANCE_IPV4: '10.0.1.10', AWS_INSTANCE_PORT: '8080', zone: 'a' } };
const B = { id: 'product-b', attributes: { AWS_INSTANCE_IPV4: '10.0.2.20', AWS_INSTANCE_PORT: '8081', zone: 'b' } };

/**
 * Declares the contract suite for one backend; `backend` is called before each case for a fresh,
 * empty service, and closed after it.
 */
export function describeRegistryContract(name: string, backend: () => Promise<RegistryBackend>): void {
  describe(`Cloud Map contract: ${name}`, () => {
    let registry: RegistryBackend;
    // Apart from `registry`, so that a backend that failed to open is not closed (nor the last one twice).
    let opened: RegistryBackend | undefined;

    beforeEach(async () => {
      opened = undefined;
      registry = await backend();
      opened = registry;
    });
    afterEach(async () => {
      await opened?.close();
    });

    const register = (instance: typeof A) =>
      registry.client.send(new RegisterInstanceCommand({ ServiceId: registry.serviceId, InstanceId: instance.id, Attributes: instance.attributes }));
    const setHealth = (instanceId: string, status: 'HEALTHY' | 'UNHEALTHY') =>
      registry.client.send(new UpdateInstanceCustomHealthStatusCommand({ ServiceId: registry.serviceId, InstanceId: instanceId, Status: status }));
    const discover = async (input: Partial<DiscoverInstancesCommandInput> = {}): Promise<HttpInstanceSummary[]> => {
      const output = await registry.client.send(
        new DiscoverInstancesCommand({ NamespaceName: registry.namespace, ServiceName: registry.serviceName, HealthStatus: 'ALL', ...input }),
      );
      // Cloud Map shuffles the instances (moto and the LocalRegistry do not): compare them sorted.
      return [...(output.Instances ?? [])].sort((left, right) => (left.InstanceId ?? '').localeCompare(right.InstanceId ?? ''));
    };
    const discoveredIds = async (input: Partial<DiscoverInstancesCommandInput> = {}) => (await discover(input)).map((instance) => instance.InstanceId);

    it('registers two instances and discovers both, each with its attributes, healthy', async () => {
      // WHEN
      const registered = await Promise.all([register(A), register(B)]);
      const output = await registry.client.send(
        new DiscoverInstancesCommand({ NamespaceName: registry.namespace, ServiceName: registry.serviceName, HealthStatus: 'ALL' }),
      );

      // THEN
      for (const { OperationId } of registered) expect(OperationId).toMatch(/\S/);
      expect(typeof output.InstancesRevision).toBe('number');
      expect(await discover()).toEqual([
        { InstanceId: A.id, NamespaceName: registry.namespace, ServiceName: registry.serviceName, HealthStatus: 'HEALTHY', Attributes: A.attributes },
        { InstanceId: B.id, NamespaceName: registry.namespace, ServiceName: registry.serviceName, HealthStatus: 'HEALTHY', Attributes: B.attributes },
      ]);
    });

    it('filters by health once UpdateInstanceCustomHealthStatus marks an instance UNHEALTHY', async () => {
      // GIVEN
      await register(A);
      await register(B);

      // WHEN
      await setHealth(B.id, 'UNHEALTHY');

      // THEN
      expect(await discoveredIds({ HealthStatus: 'HEALTHY' })).toEqual([A.id]);
      expect(await discoveredIds({ HealthStatus: 'UNHEALTHY' })).toEqual([B.id]);
      expect(await discoveredIds({ HealthStatus: 'ALL' })).toEqual([A.id, B.id]);
      expect(await discoveredIds({ HealthStatus: 'HEALTHY_OR_ELSE_ALL' })).toEqual([A.id]);
      expect((await discover({ HealthStatus: 'UNHEALTHY' }))[0]?.HealthStatus).toBe('UNHEALTHY');
    });

    it('fails open with HEALTHY_OR_ELSE_ALL when no instance is healthy, and recovers', async () => {
      // GIVEN
      await register(A);
      await register(B);

      // WHEN
      await setHealth(A.id, 'UNHEALTHY');
      await setHealth(B.id, 'UNHEALTHY');

      // THEN
      expect(await discoveredIds({ HealthStatus: 'HEALTHY' })).toEqual([]);
      expect(await discoveredIds({ HealthStatus: 'HEALTHY_OR_ELSE_ALL' })).toEqual([A.id, B.id]);
      await setHealth(A.id, 'HEALTHY');
      expect(await discoveredIds({ HealthStatus: 'HEALTHY_OR_ELSE_ALL' })).toEqual([A.id]);
    });

    it('filters by QueryParameters, and by OptionalParameters only when some instance matches them', async () => {
      // GIVEN
      await register(A);
      await register(B);

      // THEN
      expect(await discoveredIds({ QueryParameters: { zone: 'b' } })).toEqual([B.id]);
      expect(await discoveredIds({ QueryParameters: { zone: 'c' } })).toEqual([]);
      expect(await discoveredIds({ OptionalParameters: { zone: 'a' } })).toEqual([A.id]);
      expect(await discoveredIds({ OptionalParameters: { zone: 'c' } })).toEqual([A.id, B.id]);
    });

    it('reports health with GetInstancesHealthStatus, for all instances, some, and page by page', async () => {
      // GIVEN
      await register(A);
      await register(B);
      await setHealth(B.id, 'UNHEALTHY');

      // WHEN
      const all = await registry.client.send(new GetInstancesHealthStatusCommand({ ServiceId: registry.serviceId }));
      const some = await registry.client.send(new GetInstancesHealthStatusCommand({ ServiceId: registry.serviceId, Instances: [B.id] }));
      const first = await registry.client.send(new GetInstancesHealthStatusCommand({ ServiceId: registry.serviceId, MaxResults: 1 }));
      const second = await registry.client.send(
        new GetInstancesHealthStatusCommand({ ServiceId: registry.serviceId, MaxResults: 1, NextToken: first.NextToken }),
      );

      // THEN
      expect(all.Status).toEqual({ [A.id]: 'HEALTHY', [B.id]: 'UNHEALTHY' });
      expect(all.NextToken).toBeUndefined();
      expect(some.Status).toEqual({ [B.id]: 'UNHEALTHY' });
      expect(Object.keys(first.Status ?? {})).toHaveLength(1);
      expect(first.NextToken).toEqual(expect.any(String));
      expect({ ...first.Status, ...second.Status }).toEqual(all.Status);
      expect(second.NextToken).toBeUndefined();
    });

    it("the order service's discovery client finds the healthy instances, and loses one that turns unhealthy", async () => {
      // GIVEN
      await Promise.all([register(A), register(B)]);
      const clock = { now: 0 };
      const directory = new InstanceDirectory({
        client: registry.client,
        namespace: registry.namespace,
        service: registry.serviceName,
        ttlMs: 1_000,
        now: () => clock.now,
      });

      // WHEN / THEN
      expect([...(await directory.instances())].sort((left, right) => left.id.localeCompare(right.id))).toEqual([
        { id: A.id, url: 'http://10.0.1.10:8080' },
        { id: B.id, url: 'http://10.0.2.20:8081' },
      ]);
      await setHealth(B.id, 'UNHEALTHY');
      clock.now = 1_000;
      expect((await directory.instances()).map((instance) => instance.id)).toEqual([A.id]);
      expect(directory.stats).toMatchObject({ discoveryCalls: 2, failures: 0 });
    });

    it('deregisters an instance: it is no longer discovered nor reported', async () => {
      // GIVEN
      await register(A);
      await register(B);

      // WHEN
      const { OperationId } = await registry.client.send(new DeregisterInstanceCommand({ ServiceId: registry.serviceId, InstanceId: A.id }));

      // THEN
      expect(OperationId).toMatch(/\S/);
      expect(await discoveredIds()).toEqual([B.id]);
      const health = await registry.client.send(new GetInstancesHealthStatusCommand({ ServiceId: registry.serviceId }));
      expect(health.Status).toEqual({ [B.id]: 'HEALTHY' });
    });

    it('re-registering an instance id makes discovery return its new attributes', async () => {
      // GIVEN
      await register(A);
      const moved = { ...A, attributes: { ...A.attributes, AWS_INSTANCE_IPV4: '10.0.3.30', AWS_INSTANCE_PORT: '9090' } };

      // WHEN
      await register(moved);

      // THEN
      // Cloud Map updates the instance in place. moto 5.2.1 appends a second copy with the same id
      // and keeps the old one, so only "the new attributes are discovered" holds for both; that the
      // old ones are gone is asserted against the LocalRegistry alone.
      const found = await discover();
      expect(found.every((instance) => instance.InstanceId === A.id)).toBe(true);
      expect(found).toContainEqual(expect.objectContaining({ InstanceId: A.id, Attributes: moved.attributes }));
    });

    describe('errors surface as the SDK exception classes', () => {
      it('RegisterInstance in an unknown service: ServiceNotFound', async () => {
        const error = await registry.client
          .send(new RegisterInstanceCommand({ ServiceId: 'srv-doesnotexist0000', InstanceId: A.id, Attributes: A.attributes }))
          .catch((caught: unknown) => caught);
        expect(error).toBeInstanceOf(ServiceNotFound);
        expect(error).toMatchObject({ name: 'ServiceNotFound', $metadata: { httpStatusCode: 400 } });
      });

      it('DeregisterInstance of an unknown instance: InstanceNotFound', async () => {
        await register(A);
        const error = await registry.client
          .send(new DeregisterInstanceCommand({ ServiceId: registry.serviceId, InstanceId: 'never-registered' }))
          .catch((caught: unknown) => caught);
        expect(error).toBeInstanceOf(InstanceNotFound);
        expect(error).toMatchObject({ name: 'InstanceNotFound', $metadata: { httpStatusCode: 400 } });
      });

      it('DeregisterInstance in an unknown service: ServiceNotFound', async () => {
        await expect(registry.client.send(new DeregisterInstanceCommand({ ServiceId: 'srv-doesnotexist0000', InstanceId: A.id }))).rejects.toMatchObject({
          name: 'ServiceNotFound',
        });
      });

      it('DiscoverInstances in an unknown namespace: NamespaceNotFound', async () => {
        const error = await registry.client
          .send(new DiscoverInstancesCommand({ NamespaceName: 'no-such-namespace.local', ServiceName: registry.serviceName }))
          .catch((caught: unknown) => caught);
        expect(error).toBeInstanceOf(NamespaceNotFound);
        expect(error).toMatchObject({ name: 'NamespaceNotFound' });
      });

      it('DiscoverInstances of an unknown service in a known namespace: ServiceNotFound', async () => {
        const error = await registry.client
          .send(new DiscoverInstancesCommand({ NamespaceName: registry.namespace, ServiceName: 'no-such-service' }))
          .catch((caught: unknown) => caught);
        expect(error).toBeInstanceOf(ServiceNotFound);
        expect(error).toMatchObject({ name: 'ServiceNotFound' });
      });

      it('DiscoverInstances with an unknown HealthStatus: InvalidInput', async () => {
        // The SDK does not check enums on the client side, so the registry must.
        const input = { NamespaceName: registry.namespace, ServiceName: registry.serviceName, HealthStatus: 'SOMETIMES' };
        const error = await registry.client.send(new DiscoverInstancesCommand(input as DiscoverInstancesCommandInput)).catch((caught: unknown) => caught);
        expect(error).toBeInstanceOf(InvalidInput);
        expect(error).toMatchObject({ name: 'InvalidInput' });
      });

      it('UpdateInstanceCustomHealthStatus of an unknown instance: InstanceNotFound; in an unknown service: ServiceNotFound', async () => {
        await expect(setHealth('never-registered', 'UNHEALTHY')).rejects.toMatchObject({ name: 'InstanceNotFound' });
        await expect(
          registry.client.send(new UpdateInstanceCustomHealthStatusCommand({ ServiceId: 'srv-doesnotexist0000', InstanceId: A.id, Status: 'HEALTHY' })),
        ).rejects.toMatchObject({ name: 'ServiceNotFound' });
      });

      it('GetInstancesHealthStatus of an unknown service: ServiceNotFound', async () => {
        await expect(registry.client.send(new GetInstancesHealthStatusCommand({ ServiceId: 'srv-doesnotexist0000' }))).rejects.toBeInstanceOf(ServiceNotFound);
      });
    });
  });
}
