/**
 * The HTTP_PROXY integration: sends a request to one instance of the route's service, round-robin
 * over the instances `resolveService` gives, and retries once on the next instance when the
 * connection was refused or reset before any answer (an instance that just stopped, a keep-alive
 * socket the service had closed). One deadline covers finding the instances and every attempt, up
 * to the moment the service's status and headers arrive; the body then streams without one.
 */
import { Agent, request as httpRequest } from 'node:http';
import type { IncomingMessage } from 'node:http';
import type { HeaderMap } from './proxy-headers';
import { toNodeHeaders } from './proxy-headers';

/** Base URLs (`http://10.0.1.5:8080`) of the healthy instances of a service. */
export type ServiceResolver = (service: string) => Promise<readonly string[]>;

/** A request for the service, its headers made per instance (the Host differs). */
export interface UpstreamRequest {
  readonly service: string;
  readonly method: string;
  /** Path and query after the stage: `/products/p-1?limit=5`. */
  readonly pathAndQuery: string;
  readonly headers: (host: string) => HeaderMap;
  readonly body: Buffer;
}

/** What became of a request to the service. */
export type UpstreamOutcome =
  /** The service answered: its status and headers are in, the body is still to be read from `response`. */
  | { readonly kind: 'response'; readonly response: IncomingMessage; readonly instance: string; readonly attempts: number }
  /** The deadline passed before the service answered (`instance`: the one asked last, if any). */
  | { readonly kind: 'timeout'; readonly instance?: string; readonly attempts: number }
  | { readonly kind: 'unreachable'; readonly detail: string; readonly instance?: string; readonly attempts: number }
  /** The client went away before the service answered; no one is left to answer. */
  | { readonly kind: 'abandoned'; readonly attempts: number };

// Refused: no service got the request. Reset before any answer: most often a pooled keep-alive socket
// the service had just closed; the rare request a service did act on is retried too, which the
// services' idempotency keys make safe for POST /orders.
const RETRYABLE = new Set(['ECONNREFUSED', 'ECONNRESET']);

/** The services behind the gateway. */
export class Upstreams {
  private readonly agent = new Agent({ keepAlive: true });
  private readonly turns = new Map<string, number>();

  constructor(private readonly resolve: ServiceResolver, private readonly timeoutMs: number) {}

  /** Forwards `request`; aborting `abandon` (the client left) stops it. */
  async forward(request: UpstreamRequest, abandon: AbortSignal): Promise<UpstreamOutcome> {
    // The deadline covers finding the instances too: a registry that hangs must not hang the request.
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), this.timeoutMs);
    const onAbandon = (): void => deadline.abort();
    abandon.addEventListener('abort', onAbandon, { once: true });
    const stopped = (attempts: number, instance?: string): UpstreamOutcome =>
      abandon.aborted ? { kind: 'abandoned', attempts } : { kind: 'timeout', attempts, ...(instance !== undefined && { instance }) };
    try {
      const instances = await this.instancesOf(request.service, deadline.signal);
      if (instances === 'stopped') return stopped(0);
      if ('failed' in instances) return { kind: 'unreachable', attempts: 0, detail: instances.failed };
      if (instances.length === 0) return { kind: 'unreachable', attempts: 0, detail: `no healthy instance of ${request.service}` };

      const turn = this.turns.get(request.service) ?? 0;
      this.turns.set(request.service, (turn + 1) % Number.MAX_SAFE_INTEGER);
      const order = [instances[turn % instances.length], instances[(turn + 1) % instances.length]];
      let last: UpstreamOutcome = { kind: 'unreachable', attempts: 0, detail: 'not attempted' };
      for (const [index, instance] of order.entries()) {
        const attempts = index + 1;
        const sent = await this.send(instance, request, deadline.signal);
        if (sent.kind === 'response') return { kind: 'response', response: sent.response, instance, attempts };
        if (deadline.signal.aborted) return stopped(attempts, instance);
        last = { kind: 'unreachable', instance, attempts, detail: sent.detail };
        if (!sent.retryable) break;
      }
      return last;
    } finally {
      clearTimeout(timer);
      abandon.removeEventListener('abort', onAbandon);
    }
  }

  /** Closes the pooled connections to the services. */
  close(): void {
    this.agent.destroy();
  }

  /** The instances of `service`; 'stopped' when `signal` aborts first. */
  private instancesOf(service: string, signal: AbortSignal): Promise<readonly string[] | { readonly failed: string } | 'stopped'> {
    return new Promise((resolve) => {
      const onAbort = (): void => resolve('stopped');
      signal.addEventListener('abort', onAbort, { once: true });
      this.resolve(service)
        .then(
          (instances) => resolve(instances),
          (error: unknown) => resolve({ failed: `resolving ${service} failed: ${error instanceof Error ? error.message : String(error)}` }),
        )
        .finally(() => signal.removeEventListener('abort', onAbort));
    });
  }

  private send(instance: string, request: UpstreamRequest, signal: AbortSignal): Promise<{ kind: 'response'; response: IncomingMessage } | { kind: 'error'; detail: string; retryable: boolean }> {
    if (!URL.canParse(instance)) return Promise.resolve({ kind: 'error', detail: `instance URL ${JSON.stringify(instance)} is not a URL`, retryable: true });
    const base = new URL(instance);
    if (base.protocol !== 'http:') return Promise.resolve({ kind: 'error', detail: `instance URL ${instance} is not http:`, retryable: true });
    return new Promise((resolve) => {
      const outgoing = httpRequest({
        agent: this.agent,
        hostname: base.hostname,
        port: base.port,
        method: request.method,
        path: `${base.pathname.replace(/\/+$/, '')}${request.pathAndQuery}`,
        headers: toNodeHeaders(request.headers(base.host)),
        signal,
      });
      outgoing.once('response', (response) => resolve({ kind: 'response', response }));
      // `on`, not `once`: a socket can fail again after the answer began, and an unheard error would crash the process.
      outgoing.on('error', (error: NodeJS.ErrnoException) => {
        resolve({ kind: 'error', detail: error.code ?? error.message, retryable: error.code !== undefined && RETRYABLE.has(error.code) });
      });
      outgoing.end(request.body);
    });
  }
}
