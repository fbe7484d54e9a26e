/**
 * The Cloud Map registry contract against moto's server, the reference the LocalRegistry is checked
 * against. It needs Python with moto (`pip install "moto[server]"`), so it is not part of `npm test`:
 * run it with `npx jest -c jest.moto.config.js`. It starts `moto_server` on a free loopback port and
 * fails, never skips, when moto_server is not on PATH.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { delimiter, join } from 'node:path';
import { CreateHttpNamespaceCommand, CreateServiceCommand, GetOperationCommand } from '@aws-sdk/client-servicediscovery';
import type { ServiceDiscoveryClient } from '@aws-sdk/client-servicediscovery';
import { createServiceDiscoveryClient } from '../../services/common/lifecycle';
import { describeRegistryContract } from '../registry/registry-contract';

const MOTO_SERVER = 'moto_server';
const START_TIMEOUT_MS = 30_000;

let moto: MotoServer | undefined;

beforeAll(async () => {
  moto = await MotoServer.start();
}, START_TIMEOUT_MS + 5_000);

afterAll(async () => {
  await moto?.stop();
});

let backends = 0;

describeRegistryContract('moto_server', async () => {
  if (moto === undefined) throw new Error(`${MOTO_SERVER} did not start (see the beforeAll error above)`);
  // moto keeps one backend per region, read from the request signature: every call must name the same one.
  const client = createServiceDiscoveryClient(moto.endpoint, 'us-east-1');
  try {
    // One namespace per case, so that cases share nothing though they share one moto process.
    backends += 1;
    const namespace = `contract-${backends}.local`;
    const serviceName = 'product';
    const { OperationId } = await client.send(new CreateHttpNamespaceCommand({ Name: namespace }));
    const namespaceId = await operationTarget(client, OperationId, 'NAMESPACE');
    // A custom health check, as ECS services have: Cloud Map accepts UpdateInstanceCustomHealthStatus
    // only for such a service (moto accepts it for any service, but the contract is Cloud Map's).
    const { Service } = await client.send(new CreateServiceCommand({ Name: serviceName, NamespaceId: namespaceId, HealthCheckCustomConfig: {} }));
    if (Service?.Id === undefined) throw new Error('CreateService answered without a service id');
    return { client, serviceId: Service.Id, namespace, serviceName, close: async () => client.destroy() };
  } catch (error) {
    client.destroy();
    throw error;
  }
});

/** The id an operation made (its target of `type`), once the operation has succeeded. */
async function operationTarget(client: ServiceDiscoveryClient, operationId: string | undefined, type: 'NAMESPACE' | 'SERVICE'): Promise<string> {
  if (operationId === undefined) throw new Error('the request answered without an OperationId');
  // Cloud Map runs namespace operations asynchronously; moto completes them at once, so the loop
  // normally ends on the first answer.
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const { Operation } = await client.send(new GetOperationCommand({ OperationId: operationId }));
    if (Operation?.Status === 'FAIL') throw new Error(`operation ${operationId} failed: ${Operation.ErrorCode}: ${Operation.ErrorMessage}`);
    const target = Operation?.Targets?.[type];
    if (Operation?.Status === 'SUCCESS' && target !== undefined) return target;
    await sleep(100);
  }
  throw new Error(`operation ${operationId} did not succeed in 5 seconds`);
}

/** A moto_server process on a free loopback port, started for this file and stopped after it. */
class MotoServer {
  private constructor(
    private readonly child: ChildProcess,
    readonly endpoint: string,
  ) {}

  static async start(): Promise<MotoServer> {
    const executable = findOnPath(MOTO_SERVER);
    const port = await freePort();
    const child = spawn(executable, ['-H', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
    // moto logs every request: drain both pipes (a full pipe would stall it) and keep the tail for errors.
    let output = '';
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-4_000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    const server = new MotoServer(child, `http://127.0.0.1:${port}`);
    try {
      await server.waitUntilAnswering(() => output);
    } catch (error) {
      await server.stop();
      throw error;
    }
    return server;
  }

  /** Stops moto: SIGTERM, then SIGKILL if it is still there after five seconds. */
  async stop(): Promise<void> {
    const child = this.child;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }

  private async waitUntilAnswering(output: () => string): Promise<void> {
    const deadline = Date.now() + START_TIMEOUT_MS;
    let exit: string | undefined;
    this.child.once('exit', (code, signal) => {
      exit = `exited (code ${code ?? 'none'}, signal ${signal ?? 'none'})`;
    });
    this.child.once('error', (error) => {
      exit = `could not be run: ${error.message}`;
    });
    while (Date.now() < deadline) {
      if (exit !== undefined) throw new Error(`${MOTO_SERVER} ${exit} before it answered; its output:\n${output()}`);
      if (await answers(this.endpoint)) return;
      await sleep(100);
    }
    throw new Error(`${MOTO_SERVER} did not answer at ${this.endpoint} within ${START_TIMEOUT_MS} ms; its output:\n${output()}`);
  }
}

/** The full path of an executable on PATH. */
function findOnPath(name: string): string {
  const directories = (process.env.PATH ?? '').split(delimiter).filter((directory) => directory !== '');
  for (const directory of directories) {
    const candidate = join(directory, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch (error) {
      // Missing or not executable here: look in the next directory. Anything else is a real fault.
      if (!isErrno(error, 'ENOENT', 'EACCES', 'ENOTDIR')) throw error;
    }
  }
  throw new Error(
    `${MOTO_SERVER} is not on PATH, so the Cloud Map contract cannot run against moto. Install it with ` +
      `pip install "moto[server]" (moto 5.2.1 is the version the contract was checked with), then run ` +
      `npx jest -c jest.moto.config.js again. PATH was: ${process.env.PATH ?? '(unset)'}`,
  );
}

/** A port that was free a moment ago: the OS picks it for a listener that is closed at once. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close((error) => (error ? reject(error) : resolve(port)));
    });
  });
}

/** Whether anything answers HTTP at `endpoint` (any status will do: it means the server is up). */
function answers(endpoint: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = request(endpoint, { method: 'GET', agent: false, timeout: 1_000 }, (response) => {
      response.resume();
      response.on('end', () => resolve(true));
    });
    probe.on('timeout', () => probe.destroy());
    probe.on('error', () => resolve(false));
    probe.end();
  });
}

// Structural, not instanceof Error: jest runs tests in a vm context, whose Error is not Node's.
function isErrno(error: unknown, ...codes: string[]): boolean {
  return typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string' && codes.includes(error.code);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
