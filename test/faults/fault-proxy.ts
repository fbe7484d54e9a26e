/**
 * A fault-injecting HTTP proxy for tests: put it in front of dynalite or the product service and tell
 * it what to do to the next calls that match. Faults:
 * - `stall`: hold the call and never answer (until the proxy closes), as a dependency that hangs after
 *   the connection is made;
 * - `drop-response`: forward the call, let it take effect, then cut the connection without answering,
 *   as a response lost on the way back;
 * - `error`: answer 500 without forwarding, as a dependency's internal error;
 * - `hold`: keep the call until {@link FaultProxy.releaseHeld}, then forward it, as a slow network
 *   that delivers it late.
 * Every other call is forwarded untouched.
 */
import { createServer, request as httpRequest } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What to do to a call. */
export type Fault = 'stall' | 'drop-response' | 'error' | 'hold';

/** One call as the proxy sees it. */
export interface ProxiedCall {
  readonly method: string;
  readonly path: string;
  /** DynamoDB's operation (`UpdateItem`), from the X-Amz-Target header; '' for other services. */
  readonly operation: string;
  readonly body: string;
}

interface Rule {
  readonly match: (call: ProxiedCall) => boolean;
  readonly fault: Fault;
  remaining: number;
}

/** A running proxy. */
export class FaultProxy {
  /** Calls seen, in order. */
  readonly calls: ProxiedCall[] = [];
  /** Calls whose answer came back from the target (whether or not it reached the caller). */
  readonly answered: ProxiedCall[] = [];
  /** Faults applied, in order. */
  readonly applied: { readonly fault: Fault; readonly call: ProxiedCall }[] = [];
  private readonly rules: Rule[] = [];
  private readonly stalled = new Set<ServerResponse>();
  private held: (() => void)[] = [];
  private readonly waiters: { readonly check: () => boolean; readonly resolve: () => void }[] = [];

  private constructor(
    private readonly server: Server,
    readonly url: string,
    private readonly target: URL,
  ) {}

  /** Starts a proxy to `target` on 127.0.0.1, port 0. */
  static async start(target: string): Promise<FaultProxy> {
    let proxy: FaultProxy | undefined;
    const server = createServer((incoming, outgoing) => proxy?.handle(incoming, outgoing));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    proxy = new FaultProxy(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`, new URL(target));
    return proxy;
  }

  /** Applies `fault` to the next `times` calls that match. */
  inject(fault: Fault, match: (call: ProxiedCall) => boolean, times = 1): void {
    this.rules.push({ match, fault, remaining: times });
  }

  /** Forgets every rule not yet used up, and cuts stalled calls off (the caller sees a reset). */
  heal(): void {
    this.rules.length = 0;
    for (const response of this.stalled) response.destroy();
    this.stalled.clear();
  }

  /** Forwards the held calls. */
  releaseHeld(): void {
    const held = this.held;
    this.held = [];
    for (const forward of held) forward();
  }

  /** Resolves once `count` faults of this kind have been applied (no polling: checked on each call). */
  whenApplied(fault: Fault, count = 1): Promise<void> {
    const check = (): boolean => this.applied.filter((entry) => entry.fault === fault).length >= count;
    return this.when(check);
  }

  /** Resolves once `check` holds, checked on each call the proxy receives. */
  when(check: () => boolean): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ check, resolve }));
  }

  private notify(): void {
    for (const waiter of [...this.waiters]) {
      if (waiter.check()) {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  }

  async close(): Promise<void> {
    this.heal();
    this.held = [];
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(incoming: IncomingMessage, outgoing: ServerResponse): void {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () => {
      const body = Buffer.concat(chunks);
      const target = incoming.headers['x-amz-target'];
      const call: ProxiedCall = {
        method: incoming.method ?? 'GET',
        path: incoming.url ?? '/',
        operation: typeof target === 'string' ? (target.split('.').pop() ?? '') : '',
        body: body.toString('utf8'),
      };
      this.calls.push(call);
      const rule = this.rules.find((candidate) => candidate.remaining > 0 && candidate.match(call));
      if (rule !== undefined) {
        rule.remaining -= 1;
        this.applied.push({ fault: rule.fault, call });
      }
      this.notify();
      switch (rule?.fault) {
        case 'stall':
          this.stalled.add(outgoing);
          outgoing.once('close', () => this.stalled.delete(outgoing));
          return;
        case 'hold':
          this.held.push(() => this.forward(incoming, outgoing, body, false, call));
          return;
        case 'error':
          outgoing.writeHead(500, { 'content-type': 'application/x-amz-json-1.0' });
          outgoing.end(
            JSON.stringify({
              __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError',
              message: 'injected fault',
              error: { code: 'INTERNAL', message: 'injected fault' },
            }),
          );
          return;
        default:
          this.forward(incoming, outgoing, body, rule?.fault === 'drop-response', call);
      }
    });
  }

  private forward(incoming: IncomingMessage, outgoing: ServerResponse, body: Buffer, drop: boolean, call: ProxiedCall): void {
    const forwarded = httpRequest(
      {
        hostname: this.target.hostname,
        port: this.target.port,
        method: incoming.method,
        path: incoming.url,
        headers: { ...incoming.headers, host: this.target.host },
      },
      (answer) => {
        answer.once('end', () => {
          this.answered.push(call);
          this.notify();
        });
        if (drop) {
          // The call took effect; its answer is lost.
          answer.resume();
          answer.once('end', () => outgoing.destroy());
          return;
        }
        if (outgoing.destroyed) {
          // The caller gave up while the call was held: it still took effect.
          answer.resume();
          return;
        }
        outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(outgoing);
      },
    );
    forwarded.on('error', () => outgoing.destroy());
    forwarded.end(body);
  }
}
