/** The headers of the proxy hop: identity set by the gateway, hop-by-hop dropped, the rest passed on. */
import { GATEWAY_HEADERS } from '../../lib/routes/headers';
import { downstreamResponseHeaders, toNodeHeaders, upstreamRequestHeaders } from '../../local/gateway/proxy-headers';

const identity = { requestId: 'req-1', userId: 'alice', scopes: 'orders:read' };
const hop = { host: '10.0.1.5:8080', bodyBytes: 0, clientIp: '192.0.2.7' };

describe('upstreamRequestHeaders', () => {
  it("replaces the client's identity headers, whatever their case, and keeps Authorization and the rest", () => {
    const headers = upstreamRequestHeaders(
      ['X-User-Id', 'mallory', 'x-user-scopes', 'admin', 'X-Request-Id', 'spoofed', 'Authorization', 'Bearer t', 'Accept', 'a', 'accept', 'b'],
      identity,
      hop,
    );
    expect(headers).toEqual({
      [GATEWAY_HEADERS.userId]: ['alice'],
      [GATEWAY_HEADERS.userScopes]: ['orders:read'],
      [GATEWAY_HEADERS.requestId]: ['req-1'],
      authorization: ['Bearer t'],
      accept: ['a', 'b'],
      host: ['10.0.1.5:8080'],
      'x-forwarded-for': ['192.0.2.7'],
    });
  });

  it('drops a spoofed scopes header even when the authorizer gave no scopes', () => {
    const headers = upstreamRequestHeaders(['x-user-scopes', 'admin'], { ...identity, scopes: undefined }, hop);
    expect(headers[GATEWAY_HEADERS.userScopes]).toBeUndefined();
  });

  it('drops hop-by-hop headers and those Connection names, and sets Host and the length for the next hop', () => {
    const headers = upstreamRequestHeaders(
      ['Host', 'gateway', 'Connection', 'keep-alive, X-Hop', 'X-Hop', '1', 'Keep-Alive', 'timeout=5', 'Transfer-Encoding', 'chunked', 'TE', 'trailers', 'Upgrade', 'h2c', 'Expect', '100-continue', 'Proxy-Authorization', 'Basic x'],
      identity,
      { ...hop, bodyBytes: 12 },
    );
    expect(Object.keys(headers).sort()).toEqual(['content-length', 'host', 'x-forwarded-for', 'x-request-id', 'x-user-id', 'x-user-scopes']);
    expect(headers['content-length']).toEqual(['12']);
  });

  it("appends the client's address to X-Forwarded-For", () => {
    expect(upstreamRequestHeaders(['X-Forwarded-For', '203.0.113.1'], identity, hop)['x-forwarded-for']).toEqual(['203.0.113.1, 192.0.2.7']);
  });

  it('keeps a zero length for a request that sent an empty body, and none for one that sent no body', () => {
    expect(upstreamRequestHeaders(['Content-Length', '0'], identity, hop)['content-length']).toEqual(['0']);
    expect(upstreamRequestHeaders([], identity, hop)['content-length']).toBeUndefined();
  });
});

describe('downstreamResponseHeaders', () => {
  it("keeps the service's headers and length, drops its framing, and sets the gateway's request id", () => {
    const headers = downstreamResponseHeaders(
      { 'content-type': ['application/json'], 'content-length': ['2'], 'set-cookie': ['a=1', 'b=2'], connection: ['keep-alive'], 'transfer-encoding': ['chunked'], 'x-request-id': ['other'], gone: undefined },
      'req-1',
    );
    expect(toNodeHeaders(headers)).toEqual({ 'content-type': 'application/json', 'content-length': '2', 'set-cookie': ['a=1', 'b=2'], 'x-request-id': 'req-1' });
  });
});
