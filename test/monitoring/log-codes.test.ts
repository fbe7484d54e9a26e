/**
 * The metric filters count the lines the runtime really writes: the authorizer's line when an issuer's
 * JWKS cannot be had, and a service's access line when it answers DEPENDENCY_UNAVAILABLE (and not
 * another 503), each produced through the real handler and the real service edge.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Template } from 'aws-cdk-lib/assertions';
import type { FastifyBaseLogger } from 'fastify';
import { createAuthorizerHandler } from '../../lambda/authorizer/handler';
import { createJsonLogger } from '../../lambda/authorizer/logger';
import { GatewayMonitoring } from '../../lib/monitoring/gateway-monitoring';
import { jsonEqualsPattern, matchesJsonEqualsPattern } from '../../lib/monitoring/log-codes';
import { SERVICES } from '../../lib/routes/gatehouse-routes';
import { ServiceError } from '../../services/common/errors';
import { createService } from '../../services/common/server';
import { requestEvent, testConfig } from '../support/authorizer';
import { projectApp } from '../support/cdk';
import { listen } from '../support/services';
import { TestIssuer } from '../support/test-issuer';
import { monitoredFixture } from './fixture';

/** The filter pattern of each metric filter of the synthesized monitoring, by metric name. */
function patterns(): Record<string, string> {
  const app = projectApp({ bundle: false });
  const { stack, props } = monitoredFixture(app);
  new GatewayMonitoring(stack, 'Monitoring', props);
  const filters = Object.values(Template.fromStack(stack).findResources('AWS::Logs::MetricFilter'));
  return Object.fromEntries(
    filters.map((filter) => [(filter.Properties.MetricTransformations as { MetricName: string }[])[0].MetricName, filter.Properties.FilterPattern as string]),
  );
}

const PATTERNS = patterns();

/**
 * A logger that writes what pino would: one JSON object per call, its bindings (the service's `base`,
 * the request's child bindings) merged with the call's fields.
 */
function jsonLinesLogger(lines: string[], bindings: Record<string, unknown>): FastifyBaseLogger {
  const write = (level: string) => (fields: unknown, message?: string) =>
    lines.push(
      JSON.stringify({
        level,
        ...bindings,
        ...(typeof fields === 'object' && fields !== null ? fields : { msg: fields }),
        ...(message !== undefined && { msg: message }),
      }),
    );
  return {
    level: 'info',
    info: write('info'),
    warn: write('warn'),
    error: write('error'),
    fatal: write('fatal'),
    debug: () => undefined,
    trace: () => undefined,
    silent: () => undefined,
    child: (more: Record<string, unknown>) => jsonLinesLogger(lines, { ...bindings, ...more }),
  } as FastifyBaseLogger;
}

describe('the JWKS_UNAVAILABLE filter', () => {
  let issuer: TestIssuer | undefined;
  beforeAll(async () => {
    issuer = await TestIssuer.start();
  }, 60_000);
  afterAll(async () => {
    await issuer?.close();
  });

  it("matches the authorizer's line when the issuer's JWKS cannot be fetched, and no line of a valid or rejected token", async () => {
    // A port nobody listens on: the JWKS fetch is refused.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));

    const lines: string[] = [];
    const config = testConfig([issuer!]);
    const down = createAuthorizerHandler(
      { ...config, issuers: [{ ...config.issuers[0], jwksUri: `http://127.0.0.1:${port}/jwks.json` }] },
      { logger: createJsonLogger((line) => lines.push(line)) },
    );
    await expect(down(requestEvent(`Bearer ${await issuer!.sign()}`))).rejects.toThrow(/JWKS_UNAVAILABLE/);
    expect(lines.filter((line) => matchesJsonEqualsPattern(PATTERNS.JwksUnavailable, line))).toHaveLength(1);

    const others: string[] = [];
    const up = createAuthorizerHandler(config, { logger: createJsonLogger((line) => others.push(line)) });
    await up(requestEvent(`Bearer ${await issuer!.sign()}`));
    await expect(up(requestEvent('Bearer not-a-token'))).rejects.toThrow('Unauthorized');
    expect(others).toHaveLength(2);
    expect(others.filter((line) => matchesJsonEqualsPattern(PATTERNS.JwksUnavailable, line))).toEqual([]);
  });
});

describe('the DEPENDENCY_UNAVAILABLE filter', () => {
  it("matches the order service's access line of a DEPENDENCY_UNAVAILABLE answer, not of another 503 or a success", async () => {
    const lines: string[] = [];
    const app = createService({ name: SERVICES.order, readiness: async () => undefined, logger: jsonLinesLogger(lines, { service: SERVICES.order }) });
    app.get('/down', async () => {
      throw new ServiceError('DEPENDENCY_UNAVAILABLE', 'no healthy instance of product');
    });
    app.get('/busy', async () => {
      throw new ServiceError('PRODUCT_BUSY', 'too many orders for product p-1 at once');
    });
    try {
      const url = await listen(app);
      expect((await fetch(`${url}/down`)).status).toBe(503);
      expect((await fetch(`${url}/busy`)).status).toBe(503);
      expect((await fetch(`${url}/health`)).status).toBe(200);
    } finally {
      await app.close();
    }
    const access = lines.filter((line) => (JSON.parse(line) as { path?: string }).path !== undefined);
    expect(access).toHaveLength(3);
    const matched = access.filter((line) => matchesJsonEqualsPattern(PATTERNS.DependencyUnavailable, line));
    expect(matched).toHaveLength(1);
    // The filter's dimension is the line's `service`: the alarm's Service=order reads exactly these.
    expect(JSON.parse(matched[0])).toMatchObject({ path: '/down', status: 503, code: 'DEPENDENCY_UNAVAILABLE', service: SERVICES.order });
  });
});

describe('jsonEqualsPattern', () => {
  it('makes a string comparison on one field and refuses what would break the pattern', () => {
    expect(jsonEqualsPattern('status', '429')).toBe('{ $.status = "429" }');
    expect(matchesJsonEqualsPattern('{ $.status = "429" }', '{"status":"429"}')).toBe(true);
    expect(matchesJsonEqualsPattern('{ $.status = "429" }', '{"status":"200"}')).toBe(false);
    expect(matchesJsonEqualsPattern('{ $.status = "429" }', 'not json')).toBe(false);
    expect(() => jsonEqualsPattern('a.b', 'x')).toThrow(/field must be a plain JSON property name/);
    expect(() => jsonEqualsPattern('code', 'x" } || { $.y = "z')).toThrow(/value must be letters/);
  });
});
