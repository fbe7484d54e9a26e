/** Services for gateway tests: HTTP servers on port 0 that record and echo what reached them. */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A request as the upstream saw it. */
export interface Received {
  readonly method: string;
  /** Path and query. */
  readonly url: string;
  /** Lower-case names; repeated headers joined as Node joins them. */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: string;
}

/** Header a test sends to make the upstream answer with this status. */
export const ECHO_STATUS_HEADER = 'x-echo-status';

/** An upstream that answers every request with the request, as JSON. */
export class EchoUpstream {
  readonly received: Received[] = [];
  /** Milliseconds to wait before answering. */
  delayMs = 0;

  private constructor(
    private readonly server: Server,
    readonly name: string,
  ) {}

  static async start(name: string): Promise<EchoUpstream> {
    let upstream: EchoUpstream | undefined;
    const server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const received = { method: request.method ?? '', url: request.url ?? '', headers: request.headers, body: Buffer.concat(chunks).toString('utf8') };
        upstream?.received.push(received);
        const status = Number(request.headers[ECHO_STATUS_HEADER] ?? 200);
        const answer = (): void => {
          const json = JSON.stringify({ upstream: name, ...received });
          response
            .writeHead(status, {
              'content-type': 'application/json',
              'x-upstream': name,
              'set-cookie': ['a=1', 'b=2'],
              'content-length': Buffer.byteLength(json),
            })
            .end(json);
        };
        if (upstream === undefined || upstream.delayMs === 0) {
          answer();
          return;
        }
        const timer = setTimeout(answer, upstream.delayMs);
        response.on('close', () => clearTimeout(timer));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    upstream = new EchoUpstream(server, name);
    return upstream;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve, reject) => this.server.close((error) => (error ? reject(error) : resolve())));
  }
}
