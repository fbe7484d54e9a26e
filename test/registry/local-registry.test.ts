/**
 * The embedded registry: the Cloud Map contract through the SDK, then what only it promises (Cloud
 * Map behaviour where moto parts from it, input checks), the AWS JSON 1.1 wire format seen over raw
 * HTTP, its limits, and a close() that leaves nothing open.
 */
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { OutgoingHttpHeaders } from 'node:http';
import { connect } from 'node:net';
import {
  DeregisterInstanceCommand,
  DiscoverInstancesCommand,
  GetInstancesHealthStatusCommand,
  RegisterInstanceCommand,
  UpdateInstanceCustomHealthStatusCommand,
} from '@aws-sdk/client-servicediscovery';
import type { DiscoverInstancesCommandInput, ServiceDiscoveryClient } from '@aws-sdk/client-servicediscovery';
import { AWS_JSON_CONTENT_TYPE, HealthChecker, LocalRegistry, MAX_REQUEST_BYTES, resolveHealthCheck, TARGET_PREFIX } from '../../local/registry';
import { RegistryState } from '../../local/registry/state';
import { createServiceDiscoveryClient } from '../../services/common/lifecycle';
import { describeRegistryContract } from './registry-contract';
import { refusingUrl } from '../support/refusing';

const NAMESPACE = 'gatehouse.local';
const REGION = 'us-east-1';
const SERVICES = [
  { namespace: NAMESPACE, name: 'product' },
  { namespace: NAMESPACE, name: 'order' },
];

describeRegistryContract('LocalRegistry', async () => {
  const registry = await LocalRegistry.start({ services: SERVICES });
  const client = createServiceDiscoveryClient(registry.endpoint, REGION);
  return {
    client,
    serviceId: registry.serviceId(NAMESPACE, 'product'),
    namespace: NAMESPACE,
    serviceName: 'product',
    close: async () => {
      client.destroy();
      await registry.close();
    },
  };
});

describe('LocalRegistry', () => {
  let registry: LocalRegistry;
  let client: ServiceDiscoveryClient;
  let productId: string;

  beforeEach(async () => {
    registry = await LocalRegistry.start({ services: SERVICES });
    client = createServiceDiscoveryClient(registry.endpoint, REGION);
    productId = registry.serviceId(NAMESPACE, 'product');
  });
  afterEach(async () => {
    client.destroy();
    await registry.close();
  });

  const register = (instanceId: string, attributes: Record<string, string> = { AWS_INSTANCE_IPV4: '10.0.1.10', AWS_INSTANCE_PORT: '8080' }) =>
    client.send(new RegisterInstanceCommand({ ServiceId: productId, InstanceId: instanceId, Attributes: attributes }));
  const discover = (input: Partial<DiscoverInstancesCommandInput> = {}) =>
    client.send(new DiscoverInstancesCommand({ NamespaceName: NAMESPACE, ServiceName: 'product', HealthStatus: 'ALL', ...input }));

  describe('start and serviceId', () => {
    it('listens on a free loopback port and gives each declared service an id shaped like Cloud Map’s', () => {
      expect(registry.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(productId).toMatch(/^srv-[a-z0-9]{16}$/);
      expect(registry.serviceId(NAMESPACE, 'order')).toMatch(/^srv-[a-z0-9]{16}$/);
      expect(registry.serviceId(NAMESPACE, 'order')).not.toBe(productId);
    });

    it('throws naming the service, and the declared ones, for a service that was not declared', () => {
      expect(() => registry.serviceId(NAMESPACE, 'payment')).toThrow(
        'service "payment" in namespace "gatehouse.local" was not declared when the registry started (declared: gatehouse.local/product, gatehouse.local/order)',
      );
      expect(() => registry.serviceId('other.local', 'product')).toThrow(/"product" in namespace "other.local" was not declared/);
    });

    it('refuses a service declared twice, a name Cloud Map would refuse, and a bad port', async () => {
      await expect(LocalRegistry.start({ services: [SERVICES[0], { ...SERVICES[0] }] })).rejects.toThrow(
        '"product" in namespace "gatehouse.local" is declared twice',
      );
      await expect(LocalRegistry.start({ services: [{ namespace: NAMESPACE, name: 'has space' }] })).rejects.toThrow(
        /services\[0\]\.name must be a Cloud Map service name/,
      );
      await expect(LocalRegistry.start({ services: [{ namespace: '', name: 'product' }] })).rejects.toThrow(/services\[0\]\.namespace must be/);
      await expect(LocalRegistry.start({ services: SERVICES, port: 70_000 })).rejects.toThrow('port must be an integer from 0 to 65535, got 70000');
    });

    it('rejects when the port is taken', async () => {
      const port = Number(new URL(registry.endpoint).port);
      await expect(LocalRegistry.start({ services: SERVICES, port })).rejects.toMatchObject({ code: 'EADDRINUSE' });
    });
  });

  describe('Cloud Map behaviour beyond the contract', () => {
    it('re-registering replaces the instance in place (moto would keep the old copy too)', async () => {
      // GIVEN
      await register('a', { AWS_INSTANCE_IPV4: '10.0.1.10', AWS_INSTANCE_PORT: '8080' });
      await register('b');
      await client.send(new UpdateInstanceCustomHealthStatusCommand({ ServiceId: productId, InstanceId: 'a', Status: 'UNHEALTHY' }));

      // WHEN
      await register('a', { AWS_INSTANCE_IPV4: '10.0.3.30', AWS_INSTANCE_PORT: '9090' });

      // THEN: one instance "a", with only the new attributes, and its health check started afresh
      const { Instances } = await discover();
      expect(Instances?.map((instance) => instance.InstanceId)).toEqual(['a', 'b']);
      expect(Instances?.[0]).toMatchObject({ Attributes: { AWS_INSTANCE_IPV4: '10.0.3.30', AWS_INSTANCE_PORT: '9090' }, HealthStatus: 'HEALTHY' });
    });

    it('starts an instance as AWS_INIT_HEALTH_STATUS says, and refuses any other value', async () => {
      await register('warming-up', { AWS_INSTANCE_IPV4: '10.0.1.10', AWS_INIT_HEALTH_STATUS: 'UNHEALTHY' });
      const health = await client.send(new GetInstancesHealthStatusCommand({ ServiceId: productId }));
      expect(health.Status).toEqual({ 'warming-up': 'UNHEALTHY' });
      await expect(register('odd', { AWS_INIT_HEALTH_STATUS: 'MAYBE' })).rejects.toMatchObject({
        name: 'InvalidInput',
        message: 'AWS_INIT_HEALTH_STATUS must be HEALTHY or UNHEALTHY, got "MAYBE"',
      });
    });

    it('raises InstancesRevision on every register and deregister, not on health changes', async () => {
      const revision = async () => (await discover()).InstancesRevision ?? Number.NaN;
      const initial = await revision();
      await register('a');
      const afterRegister = await revision();
      await client.send(new UpdateInstanceCustomHealthStatusCommand({ ServiceId: productId, InstanceId: 'a', Status: 'UNHEALTHY' }));
      const afterHealth = await revision();
      await client.send(new DeregisterInstanceCommand({ ServiceId: productId, InstanceId: 'a' }));
      const afterDeregister = await revision();

      expect(afterRegister).toBeGreaterThan(initial);
      expect(afterHealth).toBe(afterRegister);
      expect(afterDeregister).toBeGreaterThan(afterHealth);
    });

    it('fails open among the instances that match QueryParameters (moto looks at all instances first)', async () => {
      await register('a', { zone: 'a' });
      await register('b', { zone: 'b' });
      await client.send(new UpdateInstanceCustomHealthStatusCommand({ ServiceId: productId, InstanceId: 'b', Status: 'UNHEALTHY' }));

      const { Instances } = await discover({ HealthStatus: 'HEALTHY_OR_ELSE_ALL', QueryParameters: { zone: 'b' } });

      expect(Instances?.map((instance) => instance.InstanceId)).toEqual(['b']);
    });

    it('answers ALL when HealthStatus is left out, as moto does', async () => {
      await register('a');
      await register('b');
      await client.send(new UpdateInstanceCustomHealthStatusCommand({ ServiceId: productId, InstanceId: 'b', Status: 'UNHEALTHY' }));

      const { Instances } = await client.send(new DiscoverInstancesCommand({ NamespaceName: NAMESPACE, ServiceName: 'product' }));

      expect(Instances?.map((instance) => instance.InstanceId)).toEqual(['a', 'b']);
    });

    it('keeps the services of a namespace apart', async () => {
      await register('a');
      const { Instances } = await discover({ ServiceName: 'order' });
      expect(Instances).toEqual([]);
    });

    it('returns at most MaxResults instances', async () => {
      await Promise.all(['a', 'b', 'c'].map((id) => register(id)));
      const { Instances } = await discover({ MaxResults: 2 });
      expect(Instances).toHaveLength(2);
    });

    it('leaves out instance ids that are not registered from GetInstancesHealthStatus, as moto does', async () => {
      await register('a');
      const health = await client.send(new GetInstancesHealthStatusCommand({ ServiceId: productId, Instances: ['a', 'ghost'] }));
      expect(health.Status).toEqual({ a: 'HEALTHY' });
    });
  });

  describe('input checks: InvalidInput, with a message naming the field', () => {
    it.each<[string, string, Record<string, unknown>, RegExp]>([
      ['RegisterInstance without ServiceId', 'RegisterInstance', { InstanceId: 'a', Attributes: {} }, /ServiceId is required/],
      ['RegisterInstance without Attributes', 'RegisterInstance', { ServiceId: 'srv-x', InstanceId: 'a' }, /Attributes is required/],
      ['an InstanceId with a space', 'RegisterInstance', { ServiceId: 'srv-x', InstanceId: 'a b', Attributes: {} }, /InstanceId may hold only/],
      [
        'an InstanceId over 64 characters',
        'RegisterInstance',
        { ServiceId: 'srv-x', InstanceId: 'i'.repeat(65), Attributes: {} },
        /InstanceId must be at most 64/,
      ],
      [
        'an attribute value that is a number',
        'RegisterInstance',
        { ServiceId: 'srv-x', InstanceId: 'a', Attributes: { AWS_INSTANCE_PORT: 8080 } },
        /Attributes\.AWS_INSTANCE_PORT must be a string/,
      ],
      [
        'an attribute value over 1024 characters',
        'RegisterInstance',
        { ServiceId: 'srv-x', InstanceId: 'a', Attributes: { note: 'x'.repeat(1025) } },
        /Attributes\.note must be a string of at most 1024/,
      ],
      [
        'attributes over 5000 characters in all',
        'RegisterInstance',
        { ServiceId: 'srv-x', InstanceId: 'a', Attributes: Object.fromEntries(Array.from({ length: 6 }, (_, index) => [`k${index}`, 'x'.repeat(1000)])) },
        /Attributes must total at most 5000/,
      ],
      ['DiscoverInstances without NamespaceName', 'DiscoverInstances', { ServiceName: 'product' }, /NamespaceName is required/],
      [
        'a MaxResults of 0',
        'DiscoverInstances',
        { NamespaceName: NAMESPACE, ServiceName: 'product', MaxResults: 0 },
        /MaxResults must be an integer from 1 to 1000/,
      ],
      [
        'QueryParameters that are a list',
        'DiscoverInstances',
        { NamespaceName: NAMESPACE, ServiceName: 'product', QueryParameters: ['zone'] },
        /QueryParameters must be a map/,
      ],
      [
        'a NextToken it did not issue',
        'GetInstancesHealthStatus',
        { ServiceId: 'srv-x', NextToken: 'page-2' },
        /NextToken is not a token this registry issued/,
      ],
      ['an empty Instances list', 'GetInstancesHealthStatus', { ServiceId: 'srv-x', Instances: [] }, /Instances must be a non-empty list/],
      [
        'a Status of UNKNOWN',
        'UpdateInstanceCustomHealthStatus',
        { ServiceId: 'srv-x', InstanceId: 'a', Status: 'UNKNOWN' },
        /Status must be one of HEALTHY, UNHEALTHY/,
      ],
      ['no Status', 'UpdateInstanceCustomHealthStatus', { ServiceId: 'srv-x', InstanceId: 'a' }, /Status is required/],
    ])('%s', async (_case, operation, body, message) => {
      const response = await post(registry.endpoint, JSON.stringify(body), { 'x-amz-target': `${TARGET_PREFIX}${operation}` });
      expect(response.status).toBe(400);
      expect(response.json()).toEqual({ __type: 'InvalidInput', Message: expect.stringMatching(message) });
    });

    it('checks input before looking the service up, so a bad request is InvalidInput even for an unknown service', async () => {
      await expect(client.send(new RegisterInstanceCommand({ ServiceId: 'srv-unknown', InstanceId: 'a b', Attributes: {} }))).rejects.toMatchObject({
        name: 'InvalidInput',
      });
    });
  });

  describe('the AWS JSON 1.1 wire format, over raw HTTP', () => {
    const target = (operation: string) => ({ 'x-amz-target': `${TARGET_PREFIX}${operation}`, 'content-type': AWS_JSON_CONTENT_TYPE });

    it('answers an operation 200 with an AWS JSON body and a request id', async () => {
      // GIVEN
      await register('a', { AWS_INSTANCE_IPV4: '10.0.1.10', AWS_INSTANCE_PORT: '8080' });

      // WHEN
      const response = await post(
        registry.endpoint,
        JSON.stringify({ NamespaceName: NAMESPACE, ServiceName: 'product', HealthStatus: 'HEALTHY' }),
        target('DiscoverInstances'),
      );

      // THEN
      expect(response.status).toBe(200);
      expect(response.headers['content-type']).toBe(AWS_JSON_CONTENT_TYPE);
      expect(response.headers['x-amzn-requestid']).toMatch(/^[0-9a-f-]{36}$/);
      expect(response.json()).toEqual({
        Instances: [
          {
            InstanceId: 'a',
            NamespaceName: NAMESPACE,
            ServiceName: 'product',
            HealthStatus: 'HEALTHY',
            Attributes: { AWS_INSTANCE_IPV4: '10.0.1.10', AWS_INSTANCE_PORT: '8080' },
          },
        ],
        InstancesRevision: 1,
      });
    });

    it('answers a RegisterInstance with an operation id, and an UpdateInstanceCustomHealthStatus with {}', async () => {
      const registered = await post(registry.endpoint, JSON.stringify({ ServiceId: productId, InstanceId: 'a', Attributes: {} }), target('RegisterInstance'));
      const updated = await post(
        registry.endpoint,
        JSON.stringify({ ServiceId: productId, InstanceId: 'a', Status: 'UNHEALTHY' }),
        target('UpdateInstanceCustomHealthStatus'),
      );
      expect(registered.json()).toEqual({ OperationId: expect.stringMatching(/^[a-z0-9]{32}-[a-z0-9]{8}$/) });
      expect(updated.json()).toEqual({});
    });

    it('answers a Cloud Map error 400 with __type, Message and the x-amzn-ErrorType header', async () => {
      const response = await post(registry.endpoint, JSON.stringify({ ServiceId: productId, InstanceId: 'ghost' }), target('DeregisterInstance'));
      expect(response.status).toBe(400);
      expect(response.headers['content-type']).toBe(AWS_JSON_CONTENT_TYPE);
      expect(response.headers['x-amzn-errortype']).toBe('InstanceNotFound');
      expect(response.json()).toEqual({ __type: 'InstanceNotFound', Message: `Instance not found: ghost in service ${productId}` });
    });

    it.each([
      ['is not JSON', '{"ServiceId": '],
      ['is a JSON list', '[]'],
      ['is a JSON string', '"RegisterInstance"'],
      ['is null', 'null'],
    ])('answers InvalidInput, never a crash, when the body %s', async (_case, body) => {
      const response = await post(registry.endpoint, body, target('RegisterInstance'));
      expect(response.status).toBe(400);
      expect(response.json()).toMatchObject({ __type: 'InvalidInput' });
      // And it still serves.
      expect((await discover()).Instances).toEqual([]);
    });

    it('reads an empty body as empty input, so the error names the missing field', async () => {
      const response = await post(registry.endpoint, '', target('GetInstancesHealthStatus'));
      expect(response.status).toBe(400);
      expect(response.json()).toEqual({ __type: 'InvalidInput', Message: 'ServiceId is required' });
    });

    it.each([
      ['an operation it does not serve', `${TARGET_PREFIX}CreateHttpNamespace`],
      ['another service', 'DynamoDB_20120810.GetItem'],
      ['no operation', TARGET_PREFIX],
      ['an Object.prototype property', `${TARGET_PREFIX}__proto__`],
      ['an inherited method', `${TARGET_PREFIX}toString`],
    ])('answers UnknownOperationException for an X-Amz-Target naming %s', async (_case, value) => {
      const response = await post(registry.endpoint, '{}', { 'x-amz-target': value });
      expect(response.status).toBe(400);
      expect(response.headers['x-amzn-errortype']).toBe('UnknownOperationException');
      expect(response.json()).toMatchObject({ __type: 'UnknownOperationException', Message: expect.stringContaining(value) });
    });

    it('answers UnknownOperationException without an X-Amz-Target', async () => {
      const response = await post(registry.endpoint, '{}', {});
      expect(response.status).toBe(400);
      expect(response.json()).toMatchObject({ __type: 'UnknownOperationException' });
    });

    it('answers 405 to a GET and 404 to another path', async () => {
      const get = await post(registry.endpoint, undefined, target('DiscoverInstances'), { method: 'GET' });
      const elsewhere = await post(`${registry.endpoint}/v1/`, '{}', target('DiscoverInstances'));
      expect(get.status).toBe(405);
      expect(get.headers.allow).toBe('POST');
      expect(elsewhere.status).toBe(404);
    });

    it('answers 413 to a body over the cap it declares, without reading it, and keeps serving', async () => {
      const response = await post(registry.endpoint, 'x'.repeat(MAX_REQUEST_BYTES + 1), target('RegisterInstance'));
      expect(response.status).toBe(413);
      expect(response.headers.connection).toBe('close');
      expect(response.json()).toMatchObject({ __type: 'RequestEntityTooLarge' });
      expect((await discover()).Instances).toEqual([]);
    });

    it('answers 413 to a chunked body once it passes the cap', async () => {
      const chunk = 'x'.repeat(64 * 1024);
      const chunks = Array.from({ length: MAX_REQUEST_BYTES / chunk.length + 4 }, () => chunk);
      const response = await post(registry.endpoint, chunks, target('RegisterInstance'));
      expect(response.status).toBe(413);
      expect((await discover()).Instances).toEqual([]);
    });

    it('drops a client that leaves mid-body without logging a failure, and keeps serving', async () => {
      // GIVEN
      const logged = jest.spyOn(console, 'error').mockImplementation(() => undefined);
      const { hostname, port } = new URL(registry.endpoint);
      const socket = connect(Number(port), hostname);
      await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));

      // WHEN it promises 100 bytes, sends 10 and hangs up
      socket.write(`POST / HTTP/1.1\r\nhost: ${hostname}\r\nx-amz-target: ${TARGET_PREFIX}RegisterInstance\r\ncontent-length: 100\r\n\r\n{"Service`);
      await sleep(20);
      socket.destroy();
      await sleep(20);

      // THEN
      try {
        expect((await discover()).Instances).toEqual([]);
        expect(logged).not.toHaveBeenCalled();
      } finally {
        logged.mockRestore();
      }
    });

    it('accepts a body of exactly the cap (it is then checked as any other)', async () => {
      const padding = 'x'.repeat(MAX_REQUEST_BYTES - JSON.stringify({ ServiceId: productId, pad: '' }).length);
      const body = JSON.stringify({ ServiceId: productId, pad: padding });
      expect(Buffer.byteLength(body)).toBe(MAX_REQUEST_BYTES);
      const response = await post(registry.endpoint, body, target('GetInstancesHealthStatus'));
      expect(response.status).toBe(200);
    });
  });
});

describe('health checks (what ECS tells Cloud Map about its tasks)', () => {
  const address = (port: number) => ({ AWS_INSTANCE_IPV4: '127.0.0.1', AWS_INSTANCE_PORT: String(port) });
  /** A state with one service and a checker whose probe answers what the test says, per URL. */
  function checked(answers: Map<string, boolean[]>) {
    const state = new RegistryState(SERVICES);
    const serviceId = state.serviceId(NAMESPACE, 'product') as string;
    const probed: string[] = [];
    const checker = new HealthChecker(state, { unhealthyThreshold: 2, healthyThreshold: 2 }, async (url) => {
      probed.push(url);
      return answers.get(url)?.shift() ?? true;
    });
    const health = (instanceId: string) => state.healthStatuses(serviceId, [instanceId])[0]?.[1];
    return { state, serviceId, checker, probed, health };
  }

  it('marks an instance UNHEALTHY after two failed checks in a row, and HEALTHY again after two good ones', async () => {
    const answers = new Map([['http://127.0.0.1:8001/health', [false, true, false, false, true, true]]]);
    const { state, serviceId, checker, health } = checked(answers);
    state.register({ serviceId, instanceId: 'product-1', attributes: address(8001) });
    const seen = [];
    for (let round = 0; round < 6; round += 1) {
      await checker.round();
      seen.push(health('product-1'));
    }
    expect(seen).toEqual(['HEALTHY', 'HEALTHY', 'HEALTHY', 'UNHEALTHY', 'UNHEALTHY', 'HEALTHY']);
  });

  it('starts a re-registered instance afresh, and drops a result about a registration replaced during the check', async () => {
    const { state, serviceId, health } = checked(new Map());
    let release: (healthy: boolean) => void = () => undefined;
    const checker = new HealthChecker(state, { unhealthyThreshold: 1 }, () => new Promise<boolean>((resolve) => (release = resolve)));
    state.register({ serviceId, instanceId: 'product-1', attributes: address(8001) });
    const round = checker.round();
    // The process was replaced while its predecessor's check was in flight.
    state.register({ serviceId, instanceId: 'product-1', attributes: address(8002) });
    release(false);
    await round;
    expect(health('product-1')).toBe('HEALTHY');
  });

  it('checks only instances with an address, at their health path', async () => {
    const { state, serviceId, checker, probed } = checked(new Map());
    state.register({ serviceId, instanceId: 'product-1', attributes: address(8001) });
    state.register({ serviceId, instanceId: 'no-address', attributes: { team: 'a' } });
    await checker.round();
    expect(probed).toEqual(['http://127.0.0.1:8001/health']);
  });

  it('refuses settings an ALB would refuse', () => {
    expect(() => resolveHealthCheck({ intervalMs: 1000, timeoutMs: 1000 })).toThrow('healthCheck.timeoutMs must be less than intervalMs (1000), got 1000');
    expect(() => resolveHealthCheck({ unhealthyThreshold: 0 })).toThrow('healthCheck.unhealthyThreshold must be a positive integer, got 0');
    expect(() => resolveHealthCheck({ path: 'health' })).toThrow('healthCheck.path must start with "/", got "health"');
  });

  it('over HTTP: a dead instance stops being returned as HEALTHY, a live one stays', async () => {
    // GIVEN a registry that checks every 500 ms (each check given 450 ms, so that a loaded machine does
    // not fail the live one twice in a row), an instance that answers /health and one whose process is gone
    const live = createServer((incoming, response) => response.writeHead(incoming.url === '/health' ? 200 : 404).end());
    await new Promise<void>((resolve) => live.listen(0, '127.0.0.1', resolve));
    const gonePort = Number(new URL(await refusingUrl()).port);
    let registry: LocalRegistry | undefined;
    let client: ServiceDiscoveryClient | undefined;
    try {
      registry = await LocalRegistry.start({ services: SERVICES, healthCheck: { intervalMs: 500, timeoutMs: 450 } });
      client = createServiceDiscoveryClient(registry.endpoint, REGION);
      const serviceId = registry.serviceId(NAMESPACE, 'product');
      for (const [instanceId, port] of [
        ['live', (live.address() as AddressInfo).port],
        ['dead', gonePort],
      ] as const) {
        await client.send(new RegisterInstanceCommand({ ServiceId: serviceId, InstanceId: instanceId, Attributes: address(port) }));
      }
      const healthy = async () =>
        (
          (
            await (client as ServiceDiscoveryClient).send(
              new DiscoverInstancesCommand({ NamespaceName: NAMESPACE, ServiceName: 'product', HealthStatus: 'HEALTHY' }),
            )
          ).Instances ?? []
        ).map((instance) => instance.InstanceId);

      // THEN the dead one leaves the HEALTHY answer (two failed checks), and the live one never does
      await waitFor(async () => (await healthy()).length === 1, 10_000);
      expect(await healthy()).toEqual(['live']);
      const statuses = await client.send(new GetInstancesHealthStatusCommand({ ServiceId: serviceId }));
      expect(statuses.Status).toEqual({ live: 'HEALTHY', dead: 'UNHEALTHY' });
    } finally {
      client?.destroy();
      await registry?.close();
      await new Promise((resolve) => live.close(resolve));
    }
  }, 30_000);
});

describe('LocalRegistry.close', () => {
  it('closes the server and every connection, idle keep-alive ones included, and can be called twice', async () => {
    // GIVEN a registry holding the keep-alive connection of a client that made a request
    // The sockets of earlier tests close a turn or two after their close() resolved: wait for them.
    await waitFor(() => tcpHandles() === 0);
    const baseline = tcpHandles();
    const registry = await LocalRegistry.start({ services: SERVICES });
    const client = createServiceDiscoveryClient(registry.endpoint, REGION);
    try {
      await client.send(new DiscoverInstancesCommand({ NamespaceName: NAMESPACE, ServiceName: 'product' }));
      // The listening socket and the server's end of the connection (the agent unrefs its idle end).
      expect(tcpHandles()).toBeGreaterThanOrEqual(baseline + 2);

      // WHEN
      await registry.close();
      await registry.close();

      // THEN nothing of the registry is left, and nothing answers at its address
      await waitFor(() => tcpHandles() <= baseline);
      expect(tcpHandles()).toBe(baseline);
      await expect(post(registry.endpoint, '{}', {})).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    } finally {
      client.destroy();
      await registry.close();
    }
  });
});

/** What a raw HTTP exchange returned. */
interface RawResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: string;
  json(): unknown;
}

/**
 * One request over a fresh connection (no agent, so nothing is pooled past the test). A body given as
 * a list is sent chunked, without a content-length.
 */
function post(
  url: string,
  body: string | readonly string[] | undefined,
  headers: OutgoingHttpHeaders,
  options: { method?: string } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    let answered = false;
    const outgoing = request(url, { method: options.method ?? 'POST', headers, agent: false }, (response) => {
      answered = true;
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', reject);
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body: text, json: () => JSON.parse(text) as unknown });
      });
    });
    outgoing.on('error', (error: NodeJS.ErrnoException) => {
      // The server may answer (413) and close before the whole body is written: then the response,
      // if one came, decides; the 'close' below catches the case where none did.
      if (error.code !== 'EPIPE' && error.code !== 'ECONNRESET') reject(error);
    });
    outgoing.on('close', () => {
      if (!answered) reject(new Error(`${url}: the connection closed without a response`));
    });
    if (typeof body === 'string') outgoing.end(body);
    else if (body === undefined) outgoing.end();
    else {
      for (const chunk of body) outgoing.write(chunk);
      outgoing.end();
    }
  });
}

function tcpHandles(): number {
  return process.getActiveResourcesInfo().filter((resource) => resource === 'TCPServerWrap' || resource === 'TCPSocketWrap').length;
}

// Sockets close a turn of the event loop after close() resolves: poll rather than guess a delay.
async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition()) && Date.now() < deadline) await sleep(10);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
