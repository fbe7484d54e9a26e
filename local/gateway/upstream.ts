/**
 * The HTTP_PROXY integration: sends a request to one instance of the route's service, round-robin
 * over the instances `resolveService` gives, and retries once on the next instance when the
 * connection was refused or reset before any answer (an instance that just stopped, a keep-alive
 * socket the service had closed). One deadline covers finding the instances and every attempt, up
 * to the moment the service's status and headers arrive; the body then streams without one.
 *
 * Per request this costs one timer and a few listeners: no AbortController (each makes a signal, and
 * aborting one makes a DOMException), and instance URLs are parsed once, not on every request.
 */
import { Agent, request as httpRequest } from 'node:http';
import type { ClientRequest, IncomingMessage } from 'node:http';

/** Base URLs (`http://10.0.1.5:8080`) of the healthy instances of a service. */
export type ServiceResolver = (service: string) => Promise<readonly string[]>;

/** A request for the service, its headers made per instance (the Host differs). */
export interface UpstreamRequest {
  readonly service: string;
  readonly method: string;
  /** Path and query after the stage: `/products/p-1?limit=5`. */
  readonly pathAndQuery: string;
  /** The headers for the instance at `host` (`10.0.1.5:8080`), flat as Node's `rawHeaders`, Host included. */
  readonly headers: (host: string) => string[];
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

/** A request on its way to the service. */
export interface Forwarding {
  /** Settles once: the answer's head, the deadline, the last failure, or {@link Forwarding.abandon}. */
  readonly outcome: Promise<UpstreamOutcome>;
  /** The client went away: stops the attempt in flight; a no-op once the outcome is settled. */
  abandon(): void;
}

// Refused: no service got the request. Reset before any answer: most often a pooled keep-alive socket
// the service had just closed; the rare request a service did act on is retried too, which the
// services' idempotency keys make safe for POST /orders.
const RETRYABLE = new Set(['ECONNREFUSED', 'ECONNRESET']);

// The first instance, then the next one on a retryable failure.
const MAX_ATTEMPTS = 2;

// Instances come and go (each restart listens on a new port): past this many parsed URLs, start afresh.
const MAX_TARGETS = 1024;

/** An instance URL, parsed for http.request; a string says why it cannot be used. */
type Target = { readonly hostname: string; readonly port: string; readonly host: string; readonly pathPrefix: string } | string;

/** The services behind the gateway. */
export class Upstreams {
  private readonly pool: Pool;

  constructor(resolve: ServiceResolver, timeoutMs: number) {
    this.pool = new Pool(resolve, timeoutMs);
  }

  /** Forwards `request`; call `abandon()` on the result when the client leaves. */
  forward(request: UpstreamRequest): Forwarding {
    return new Attempts(this.pool, request);
  }

  /** Closes the pooled connections to the services. */
  close(): void {
    this.pool.agent.destroy();
  }
}

/** What every request to the services shares: the connections, the turns, the parsed instance URLs. */
class Pool {
  readonly agent = new Agent({ keepAlive: true });
  private readonly turns = new Map<string, number>();
  private readonly targets = new Map<string, Target>();

  constructor(
    readonly resolve: ServiceResolver,
    readonly timeoutMs: number,
  ) {}

  /** The instances of a service in the order to try them: the next in turn, then the one after. */
  order(service: string, instances: readonly string[]): string[] {
    const turn = this.turns.get(service) ?? 0;
    this.turns.set(service, (turn + 1) % Number.MAX_SAFE_INTEGER);
    return [instances[turn % instances.length], instances[(turn + 1) % instances.length]];
  }

  /** `instance` parsed, from the memo when it was seen before. */
  target(instance: string): Target {
    let target = this.targets.get(instance);
    if (target === undefined) {
      target = parseTarget(instance);
      if (this.targets.size >= MAX_TARGETS) this.targets.clear();
      this.targets.set(instance, target);
    }
    return target;
  }
}

function parseTarget(instance: string): Target {
  if (!URL.canParse(instance)) return `instance URL ${JSON.stringify(instance)} is not a URL`;
  const base = new URL(instance);
  if (base.protocol !== 'http:') return `instance URL ${instance} is not http:`;
  return { hostname: base.hostname, port: base.port, host: base.host, pathPrefix: base.pathname.replace(/\/+$/, '') };
}

/** One forwarded request: resolving, then up to {@link MAX_ATTEMPTS} attempts, under one deadline. */
class Attempts implements Forwarding {
  readonly outcome: Promise<UpstreamOutcome>;
  // Set by the promise's executor, which runs at once.
  private settle: ((outcome: UpstreamOutcome) => void) | undefined;
  private crash: ((error: unknown) => void) | undefined;
  private settled = false;
  private readonly timer: NodeJS.Timeout;
  private order: readonly string[] = [];
  private attempts = 0;
  private inFlight: ClientRequest | undefined;

  constructor(
    private readonly pool: Pool,
    private readonly request: UpstreamRequest,
  ) {
    this.outcome = new Promise((resolve, reject) => {
      this.settle = resolve;
      this.crash = reject;
    });
    // The deadline covers finding the instances too: a registry that hangs must not hang the request.
    this.timer = setTimeout(
      () => this.stop({ kind: 'timeout', attempts: this.attempts, ...(this.attempts > 0 && { instance: this.order[this.attempts - 1] }) }),
      pool.timeoutMs,
    );
    let instances: Promise<readonly string[]>;
    try {
      instances = pool.resolve(request.service);
    } catch (error) {
      instances = Promise.reject(error);
    }
    instances
      .then(
        (found) => this.start(found),
        (error: unknown) =>
          void this.finish({
            kind: 'unreachable',
            attempts: 0,
            detail: `resolving ${request.service} failed: ${error instanceof Error ? error.message : String(error)}`,
          }),
      )
      .catch((error: unknown) => this.fail(error));
  }

  abandon(): void {
    this.stop({ kind: 'abandoned', attempts: this.attempts });
  }

  private start(instances: readonly string[]): void {
    if (this.settled) return;
    if (instances.length === 0) {
      this.finish({ kind: 'unreachable', attempts: 0, detail: `no healthy instance of ${this.request.service}` });
      return;
    }
    this.order = this.pool.order(this.request.service, instances);
    this.send();
  }

  /** The next attempt, on the next instance in order. */
  private send(): void {
    const instance = this.order[this.attempts];
    this.attempts += 1;
    const attempts = this.attempts;
    const target = this.pool.target(instance);
    if (typeof target === 'string') {
      this.failed(instance, target, true);
      return;
    }
    const { request } = this;
    let outgoing: ClientRequest;
    try {
      outgoing = httpRequest({
        agent: this.pool.agent,
        hostname: target.hostname,
        port: target.port,
        method: request.method,
        path: `${target.pathPrefix}${request.pathAndQuery}`,
        headers: request.headers(target.host),
      });
    } catch (error) {
      // Called from an event listener on a retry, where a throw would end the process.
      this.fail(error);
      return;
    }
    this.inFlight = outgoing;
    outgoing.once('response', (response: IncomingMessage) => {
      this.inFlight = undefined;
      // Settled already (cannot happen while the request is in flight, but an unread answer would hold its socket).
      if (!this.finish({ kind: 'response', response, instance, attempts })) response.destroy();
    });
    // `on`, not `once`: a socket can fail again after the answer began, and an unheard error would crash the process.
    outgoing.on('error', (error: NodeJS.ErrnoException) => {
      if (this.inFlight !== outgoing) return;
      this.inFlight = undefined;
      this.failed(instance, error.code ?? error.message, error.code !== undefined && RETRYABLE.has(error.code));
    });
    if (request.body.length > 0) outgoing.end(request.body);
    else outgoing.end();
  }

  private failed(instance: string, detail: string, retryable: boolean): void {
    if (this.settled) return;
    if (retryable && this.attempts < MAX_ATTEMPTS) {
      this.send();
      return;
    }
    this.finish({ kind: 'unreachable', instance, attempts: this.attempts, detail });
  }

  /** Settles with `outcome` and drops the attempt in flight (its socket is not reused). */
  private stop(outcome: UpstreamOutcome): void {
    if (!this.finish(outcome)) return;
    const outgoing = this.inFlight;
    this.inFlight = undefined;
    outgoing?.destroy();
  }

  /**
   * What http.request throws (a header value Node refuses, such as a principal outside Latin-1) is the
   * gateway's failure, not the service's: the outcome rejects, and the edge answers 500.
   */
  private fail(error: unknown): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.timer);
    this.inFlight?.destroy();
    this.inFlight = undefined;
    this.crash?.(error);
  }

  private finish(outcome: UpstreamOutcome): boolean {
    if (this.settled) return false;
    this.settled = true;
    clearTimeout(this.timer);
    this.settle?.(outcome);
    return true;
  }
}
