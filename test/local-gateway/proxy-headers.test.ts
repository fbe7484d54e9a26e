/** The headers of the proxy hop: identity set by the gateway, hop-by-hop dropped, the rest passed on. */
import { GATEWAY_HEADERS } from '../../lib/routes/headers';
import { downstreamResponseHeaders, upstreamRequestHeaders } from '../../local/gateway/proxy-headers';
import type { RawHeaders } from '../../local/gateway/proxy-headers';

const identity = { requestId: 'req-1', userId: 'alice', scopes: 'orders:read' };
const hop = { host: '10.0.1.5:8080', method: 'GET', bodyBytes: 0, clientIp: '192.0.2.7' };

/** Flat headers grouped by name, every value in order: what the next hop receives, whatever the line order. */
function grouped(headers: RawHeaders): Record<string, string[]> {
  const byName: Record<string, string[]> = {};
  for (let index = 0; index < headers.length; index += 2) (byName[headers[index]] ??= []).push(headers[index + 1]);
  return byName;
}

describe('upstreamRequestHeaders', () => {
  it("replaces the client's identity headers, whatever their case, and keeps Authorization and the rest", () => {
    const headers = upstreamRequestHeaders(
      ['X-User-Id', 'mallory', 'x-user-scopes', 'admin', 'X-Request-Id', 'spoofed', 'Authorization', 'Bearer t', 'Accept', 'a', 'accept', 'b'],
      identity,
      hop,
    );
    expect(headers.length % 2).toBe(0);
    expect(grouped(headers)).toEqual({
      [GATEWAY_HEADERS.userId]: ['alice'],
      [GATEWAY_HEADERS.userScopes]: ['orders:read'],
      [GATEWAY_HEADERS.requestId]: ['req-1'],
      authorization: ['Bearer t'],
      accept: ['a', 'b'],
      host: ['10.0.1.5:8080'],
      'x-forwarded-for': ['192.0.2.7'],
    });
  });

  it('drops every header only the gateway sets, even one it has no value for this time', () => {
    const spoofed = Object.values(GATEWAY_HEADERS).flatMap((name) => [name.toUpperCase(), 'spoofed']);
    const headers = grouped(upstreamRequestHeaders(spoofed, { ...identity, scopes: undefined }, hop));
    expect(headers[GATEWAY_HEADERS.userScopes]).toBeUndefined();
    expect(Object.values(headers).flat()).not.toContain('spoofed');
    expect(Object.keys(headers).sort()).toEqual(['host', 'x-forwarded-for', 'x-request-id', 'x-user-id']);
  });

  it('drops hop-by-hop headers and those Connection names, and sets Host and the length for the next hop', () => {
    const headers = upstreamRequestHeaders(
      [
        'Host',
        'gateway',
        'Connection',
        'keep-alive, X-Hop',
        'X-Hop',
        '1',
        'Keep-Alive',
        'timeout=5',
        'Transfer-Encoding',
        'chunked',
        'TE',
        'trailers',
        'Upgrade',
        'h2c',
        'Expect',
        '100-continue',
        'Proxy-Authorization',
        'Basic x',
      ],
      identity,
      { ...hop, method: 'POST', bodyBytes: 12 },
    );
    expect(Object.keys(grouped(headers)).sort()).toEqual(['content-length', 'host', 'x-forwarded-for', 'x-request-id', 'x-user-id', 'x-user-scopes']);
    expect(grouped(headers)['content-length']).toEqual(['12']);
    expect(grouped(headers).host).toEqual(['10.0.1.5:8080']);
  });

  it('reads a Connection header in any case and with several lines', () => {
    const headers = grouped(upstreamRequestHeaders(['CONNECTION', 'x-a', 'connection', 'close,x-b', 'X-A', '1', 'x-b', '2', 'x-c', '3'], identity, hop));
    expect(headers['x-a']).toBeUndefined();
    expect(headers['x-b']).toBeUndefined();
    expect(headers['x-c']).toEqual(['3']);
  });

  it("appends the client's address to X-Forwarded-For, every value the client sent kept in order", () => {
    expect(grouped(upstreamRequestHeaders(['X-Forwarded-For', '203.0.113.1'], identity, hop))['x-forwarded-for']).toEqual(['203.0.113.1, 192.0.2.7']);
    expect(grouped(upstreamRequestHeaders(['x-forwarded-for', '203.0.113.1', 'X-Forwarded-For', '198.51.100.2'], identity, hop))['x-forwarded-for']).toEqual([
      '203.0.113.1, 198.51.100.2, 192.0.2.7',
    ]);
  });

  it('keeps a zero length for a request that sent an empty body, and none for a GET that sent no body', () => {
    expect(grouped(upstreamRequestHeaders(['Content-Length', '0'], identity, hop))['content-length']).toEqual(['0']);
    expect(grouped(upstreamRequestHeaders([], identity, hop))['content-length']).toBeUndefined();
  });

  it('gives a POST, PUT or PATCH without a body a zero length, so that the hop never switches to chunked', () => {
    for (const method of ['POST', 'PUT', 'PATCH']) expect(grouped(upstreamRequestHeaders([], identity, { ...hop, method }))['content-length']).toEqual(['0']);
    expect(grouped(upstreamRequestHeaders([], identity, { ...hop, method: 'DELETE' }))['content-length']).toBeUndefined();
  });
});

describe('downstreamResponseHeaders', () => {
  it("keeps the service's headers and length, drops its framing, and sets the gateway's request id", () => {
    const headers = downstreamResponseHeaders(
      [
        'Content-Type',
        'application/json',
        'Content-Length',
        '2',
        'Set-Cookie',
        'a=1',
        'set-cookie',
        'b=2',
        'Connection',
        'keep-alive',
        'Transfer-Encoding',
        'chunked',
        'X-Request-Id',
        'other',
      ],
      'req-1',
    );
    expect(grouped(headers)).toEqual({
      'content-type': ['application/json'],
      'content-length': ['2'],
      'set-cookie': ['a=1', 'b=2'],
      'x-request-id': ['req-1'],
    });
  });

  it('drops the headers the Connection header names', () => {
    expect(grouped(downstreamResponseHeaders(['Connection', 'x-hop', 'X-Hop', '1', 'X-Kept', '2'], 'req-1'))).toEqual({
      'x-kept': ['2'],
      'x-request-id': ['req-1'],
    });
  });
});
