/**
 * The OpenAPI document: valid OpenAPI 3.1 by a maintained validator, and the same API as the one
 * deployed: every route of the spec is an operation of the document and a method of the synthesized
 * template, with the same path parameters, the same request schemas (the template's API Gateway
 * models, converted from draft-04), the same scopes and throttles.
 */
import { Template } from 'aws-cdk-lib/assertions';
import Ajv2020 from 'ajv/dist/2020';
import AjvDraft04 from 'ajv-draft-04';
import { readGatehouseConfig } from '../../lib/config';
import { GatewayStack } from '../../lib/gateway-stack';
import {
  buildOpenApiDocument,
  CEILING_EXTENSION,
  ERROR_BODY_SCHEMA,
  operationIdOf,
  OPENAPI_SECURITY,
  THROTTLE_EXTENSION,
  toJsonSchema2020,
} from '../../lib/openapi/openapi';
import type { OpenApiDocument } from '../../lib/openapi/openapi';
import { GATEHOUSE_ROUTES, createOrderSchema, createProductSchema } from '../../lib/routes/gatehouse-routes';
import { IDEMPOTENCY_KEY_HEADER, IDEMPOTENCY_KEY_PATTERN } from '../../lib/routes/headers';
import type { RouteSpec } from '../../lib/routes/route-spec';
import { routeKey } from '../../lib/routes/route-spec';
import { ServiceError } from '../../services/common/errors';
import { createService } from '../../services/common/server';
import { projectApp } from '../support/cdk';
import { listen } from '../support/services';
import { methodsOf } from '../support/templates';
import { validateOpenApi } from './validator';

type Json = Record<string, unknown>;

const DOCUMENT = buildOpenApiDocument(GATEHOUSE_ROUTES) as Json;
const paths = DOCUMENT.paths as Record<string, Record<string, Json>>;
const schemas = (DOCUMENT.components as { schemas: Record<string, Json> }).schemas;
const operationOf = (route: RouteSpec): Json => paths[route.path]?.[route.method.toLowerCase()];

function synthTemplate(): Template {
  const app = projectApp({ bundle: false });
  const stack = new GatewayStack(app, 'Gatehouse', {
    config: readGatehouseConfig({ issuers: [{ issuer: 'https://issuer.example.com', audience: 'api' }] }),
    env: { account: '123456789012', region: 'eu-west-1' },
  });
  return Template.fromStack(stack);
}

describe('the OpenAPI document of the route spec', () => {
  it('is valid OpenAPI 3.1 by @seriousme/openapi-schema-validator', async () => {
    const result = await validateOpenApi(DOCUMENT);
    expect(result).toEqual({ valid: true, version: '3.1', errors: [] });
  }, 60_000);

  it('is refused by the same validator when broken (the check can fail)', async () => {
    const broken = { ...DOCUMENT, paths: { '/orders': { get: { responses: { '200': { content: {} } } } } } };
    expect((await validateOpenApi(broken)).valid).toBe(false);
  }, 60_000);

  it('has exactly one operation per route, named as the gateway names the method', () => {
    const operations = Object.entries(paths).flatMap(([path, methods]) => Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`));
    expect(operations.sort()).toEqual(GATEHOUSE_ROUTES.map(routeKey).sort());
    for (const route of GATEHOUSE_ROUTES) expect(operationOf(route).operationId).toBe(operationIdOf(route));
  });

  it('asks for a bearer JWT with any one of the route scopes, and the API key header, on every operation', () => {
    for (const route of GATEHOUSE_ROUTES) {
      expect({ route: routeKey(route), security: operationOf(route).security }).toEqual({
        route: routeKey(route),
        security: route.scopes.map((scope) => ({ [OPENAPI_SECURITY.bearer]: [scope], [OPENAPI_SECURITY.apiKey]: [] })),
      });
    }
    const schemes = (DOCUMENT.components as { securitySchemes: Json }).securitySchemes;
    expect(schemes).toEqual({
      [OPENAPI_SECURITY.bearer]: expect.objectContaining({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' }),
      [OPENAPI_SECURITY.apiKey]: expect.objectContaining({ type: 'apiKey', in: 'header', name: 'x-api-key' }),
    });
  });

  it('leaves the API key out when the authorizer supplies it', () => {
    const document = buildOpenApiDocument(GATEHOUSE_ROUTES, { apiKeySource: 'AUTHORIZER' }) as Json;
    expect(Object.keys((document.components as { securitySchemes: Json }).securitySchemes)).toEqual([OPENAPI_SECURITY.bearer]);
    expect(JSON.stringify(document.paths)).not.toContain(`"${OPENAPI_SECURITY.apiKey}"`);
  });

  it('gives each path parameter, the request body, the success answer and the error answers with the error body', () => {
    const getProduct = operationOf(GATEHOUSE_ROUTES.find((route) => routeKey(route) === 'GET /products/{id}')!);
    expect(getProduct.parameters).toEqual([{ name: 'id', in: 'path', required: true, schema: { type: 'string', minLength: 1 } }]);
    expect(Object.keys(getProduct.responses as Json).sort()).toEqual(['200', '400', '401', '403', '404', '429', '500', '503', '504', 'default']);
    const placeOrder = operationOf(GATEHOUSE_ROUTES.find((route) => routeKey(route) === 'POST /orders')!);
    expect(placeOrder.requestBody).toEqual({ required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/postOrders' } } } });
    expect(Object.keys(placeOrder.responses as Json)).toEqual(expect.arrayContaining(['201', '413', '415']));
    expect((DOCUMENT.components as { responses: Record<string, Json> }).responses.TooManyRequests).toEqual({
      description: expect.stringContaining('THROTTLED'),
      content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorBody' } } },
    });
    expect(schemas.ErrorBody).toEqual(ERROR_BODY_SCHEMA);
  });

  it('lists the Idempotency-Key header: required to place an order, optional to create a product, with the rule the services check', () => {
    const headerOf = (key: string) =>
      ((operationOf(GATEHOUSE_ROUTES.find((route) => routeKey(route) === key)!).parameters ?? []) as Json[]).filter((parameter) => parameter.in === 'header');
    expect(headerOf('POST /orders')).toEqual([
      {
        name: IDEMPOTENCY_KEY_HEADER,
        in: 'header',
        required: true,
        description: expect.stringContaining('retry'),
        schema: { type: 'string', pattern: IDEMPOTENCY_KEY_PATTERN },
      },
    ]);
    expect(headerOf('POST /products')).toEqual([expect.objectContaining({ name: IDEMPOTENCY_KEY_HEADER, required: false })]);
    expect(headerOf('GET /orders')).toEqual([]);
    const accepts = new Ajv2020({ strict: true }).compile(headerOf('POST /orders')[0].schema as Json);
    expect(['first-order', 'x'.repeat(255)].map((key) => accepts(key))).toEqual([true, true]);
    expect(['', 'has space', 'x'.repeat(256), 'é'].map((key) => accepts(key))).toEqual([false, false, false, false]);
  });

  it('carries each route throttle and ceiling as extensions, and none where the route has none', () => {
    for (const route of GATEHOUSE_ROUTES) {
      const ceiling = 'ceiling' in route ? route.ceiling : undefined;
      expect({ route: routeKey(route), throttle: operationOf(route)[THROTTLE_EXTENSION], ceiling: operationOf(route)[CEILING_EXTENSION] }).toEqual({
        route: routeKey(route),
        throttle: route.throttle,
        ceiling,
      });
    }
    expect(GATEHOUSE_ROUTES.some((route) => route.throttle !== undefined)).toBe(true);
  });

  it('serves other stacks routes too, and checks them as the gateway does', () => {
    const billing: RouteSpec[] = [{ method: 'GET', path: '/invoices/{invoiceId}', service: 'billing', scopes: ['billing:read'] }];
    const document = buildOpenApiDocument(billing, { title: 'Billing', servers: [{ url: 'https://api.example.com/v1' }] }) as Json;
    expect(Object.keys(document.paths as Json)).toEqual(['/invoices/{invoiceId}']);
    expect(document.servers).toEqual([{ url: 'https://api.example.com/v1' }]);
    expect(() => buildOpenApiDocument([])).toThrow(/routes must list at least one route/);
  });
});

describe('the document and the synthesized API', () => {
  const template = synthTemplate();
  const methods = methodsOf(template);
  const models = template.findResources('AWS::ApiGateway::Model');

  it('has every route of the spec as a method of the template, with the same operation name and path parameters', () => {
    for (const route of GATEHOUSE_ROUTES) {
      const method = methods.get(routeKey(route)) as (Json & { OperationName: string; RequestParameters?: Record<string, boolean> }) | undefined;
      expect({ route: routeKey(route), inTemplate: method !== undefined }).toEqual({ route: routeKey(route), inTemplate: true });
      expect(method!.OperationName).toBe(operationOf(route).operationId);
      const templateParameters = Object.keys(method!.RequestParameters ?? {})
        .filter((name) => name.startsWith('method.request.path.'))
        .map((name) => name.slice('method.request.path.'.length));
      const documentParameters = ((operationOf(route).parameters ?? []) as { name: string; in: string }[])
        .filter((parameter) => parameter.in === 'path')
        .map((parameter) => parameter.name);
      expect(documentParameters.sort()).toEqual(templateParameters.sort());
    }
  });

  it('has the request schema of each API Gateway model, converted from draft-04, and no body where the method has no model', () => {
    for (const route of GATEHOUSE_ROUTES) {
      const method = methods.get(routeKey(route)) as Json & { RequestModels?: Record<string, { Ref: string }> };
      const modelRef = method.RequestModels?.['application/json']?.Ref;
      if (route.requestSchema === undefined) {
        expect({ route: routeKey(route), model: modelRef, body: operationOf(route).requestBody }).toEqual({
          route: routeKey(route),
          model: undefined,
          body: undefined,
        });
        continue;
      }
      const model = models[modelRef!].Properties as { Name: string; Schema: Json };
      const referenced = ((operationOf(route).requestBody as Json).content as Record<string, { schema: { $ref: string } }>)['application/json'].schema.$ref;
      expect(referenced).toBe(`#/components/schemas/${model.Name}`);
      expect(schemas[model.Name]).toEqual(toJsonSchema2020(model.Schema));
      // And the model is the route spec's schema: the template and the document come from one source.
      expect(model.Schema).toEqual(JSON.parse(JSON.stringify(route.requestSchema)));
    }
  });

  it('has the throttle and ceiling of each route in the template, as the gateway renders them', () => {
    type Limit = { rateLimit?: number; burstLimit?: number };
    const stage = Object.values(template.findResources('AWS::ApiGateway::Stage'))[0].Properties as {
      MethodSettings: { HttpMethod: string; ResourcePath: string; ThrottlingRateLimit?: number; ThrottlingBurstLimit?: number }[];
    };
    const plans = Object.values(template.findResources('AWS::ApiGateway::UsagePlan')).map(
      (plan) =>
        plan.Properties as {
          Throttle: { RateLimit: number; BurstLimit: number };
          ApiStages: { Throttle?: Record<string, { RateLimit: number; BurstLimit: number }> }[];
        },
    );
    const stageLimit = (route: RouteSpec): Limit => {
      const setting = stage.MethodSettings.find(
        (entry) => entry.HttpMethod === route.method && entry.ResourcePath === `/~1${route.path.slice(1).replace(/\//g, '~1')}`,
      );
      return { rateLimit: setting?.ThrottlingRateLimit, burstLimit: setting?.ThrottlingBurstLimit };
    };
    for (const route of GATEHOUSE_ROUTES.filter((entry) => entry.throttle !== undefined)) {
      const document = operationOf(route);
      const throttle = document[THROTTLE_EXTENSION] as Limit;
      const ceiling = document[CEILING_EXTENSION] as Limit | undefined;
      if (ceiling === undefined) {
        // A route throttle without a ceiling: the stage's method setting for the route.
        expect(stageLimit(route)).toEqual(throttle);
      } else {
        // With a ceiling: the ceiling is the stage's method setting, the throttle each plan's per-method limit, capped by the plan.
        expect(stageLimit(route)).toEqual(ceiling);
        for (const plan of plans) {
          const perMethod = plan.ApiStages[0].Throttle?.[`${route.path}/${route.method}`];
          expect(perMethod).toEqual({
            RateLimit: Math.min(throttle.rateLimit!, plan.Throttle.RateLimit),
            BurstLimit: Math.min(throttle.burstLimit!, plan.Throttle.BurstLimit),
          });
        }
      }
    }
  });

  it('describes the error body that the gateway responses really send', () => {
    const ajv = new Ajv2020({ strict: true });
    const validate = ajv.compile(ERROR_BODY_SCHEMA);
    const responses = Object.values(template.findResources('AWS::ApiGateway::GatewayResponse'));
    expect(responses.length).toBeGreaterThan(10);
    for (const response of responses) {
      const body = (response.Properties.ResponseTemplates as Record<string, string>)['application/json']
        .replace('$context.error.messageString', JSON.stringify('Unauthorized'))
        .replace('$context.requestId', 'req-1');
      expect({ body, valid: validate(JSON.parse(body)) }).toEqual({ body, valid: true });
    }
    expect(validate({ error: { code: 'X', message: 'y' } })).toBe(false);
  });
});

describe('the error body of the document', () => {
  it('is what the services answer with (services/common/errors.ts ErrorBody)', async () => {
    const validate = new Ajv2020({ strict: true }).compile(ERROR_BODY_SCHEMA);
    const app = createService({ name: 'test', readiness: async () => undefined, logger: false });
    app.get('/fails', async () => {
      throw new ServiceError('DEPENDENCY_UNAVAILABLE', 'no healthy instance of product');
    });
    try {
      const url = await listen(app);
      for (const path of ['/fails', '/nowhere']) {
        const body: unknown = await (await fetch(`${url}${path}`)).json();
        expect({ path, body, valid: validate(body) }).toEqual({ path, body, valid: true });
      }
    } finally {
      await app.close();
    }
  });
});

describe('toJsonSchema2020', () => {
  it('keeps the meaning of the route spec schemas: the same bodies pass and fail under draft-04 and 2020-12', () => {
    const draft04 = new AjvDraft04({ strict: true });
    const ajv2020 = new Ajv2020({ strict: true });
    const samples: [schema: Json, bodies: unknown[]][] = [
      [
        createProductSchema as Json,
        [
          { name: 'Lamp', price: { amount: 1999, currency: 'EUR' }, stock: 3 },
          { name: '', price: { amount: 1, currency: 'EUR' }, stock: 1 },
          { name: 'x', price: { amount: -1, currency: 'eur' }, stock: 1 },
          { name: 'x', stock: 1 },
          { name: 'x', price: { amount: 1, currency: 'EUR' }, stock: 1, extra: true },
        ],
      ],
      [createOrderSchema as Json, [{ items: [{ productId: 'p', quantity: 1 }] }, { items: [] }, { items: [{ productId: 'p', quantity: 101 }] }, {}]],
    ];
    for (const [schema, bodies] of samples) {
      const asDraft04 = draft04.compile(schema);
      const as2020 = ajv2020.compile(toJsonSchema2020(schema));
      const verdicts = bodies.map((body) => [asDraft04(body), as2020(body)]);
      expect(verdicts.every(([a, b]) => a === b)).toBe(true);
      expect(new Set(verdicts.map(([a]) => a))).toEqual(new Set([true, false]));
    }
  });

  it('rewrites what 2020-12 reads differently: boolean exclusive bounds, id, definitions and their refs, tuples, dependencies', () => {
    const draft04Schema = {
      $schema: 'http://json-schema.org/draft-04/schema#',
      id: 'https://example.com/thing',
      type: 'object',
      definitions: { positive: { type: 'number', minimum: 0, exclusiveMinimum: true, maximum: 10, exclusiveMaximum: false } },
      properties: {
        size: { $ref: '#/definitions/positive' },
        pair: { type: 'array', items: [{ type: 'string' }, { type: 'integer' }], additionalItems: false },
        list: { type: 'array', items: { type: 'string' }, additionalItems: false },
      },
      dependencies: { size: ['pair'], pair: { required: ['list'] } },
    };
    expect(toJsonSchema2020(draft04Schema)).toEqual({
      $id: 'https://example.com/thing',
      type: 'object',
      $defs: { positive: { type: 'number', exclusiveMinimum: 0, maximum: 10 } },
      properties: {
        size: { $ref: '#/$defs/positive' },
        pair: { type: 'array', prefixItems: [{ type: 'string' }, { type: 'integer' }], items: false },
        list: { type: 'array', items: { type: 'string' } },
      },
      dependentRequired: { size: ['pair'] },
      dependentSchemas: { pair: { required: ['list'] } },
    });
    const draft04 = new AjvDraft04({ strict: false });
    const ajv2020 = new Ajv2020({ strict: false });
    const asDraft04 = draft04.compile(draft04Schema);
    const as2020 = ajv2020.compile(toJsonSchema2020(draft04Schema));
    for (const body of [
      { size: 0 },
      { size: 5, pair: ['a', 1], list: [] },
      { size: 5, pair: ['a', 1, 2], list: [] },
      { size: 5 },
      { pair: ['a', 1] },
      { size: 10, pair: ['a', 1], list: [] },
    ]) {
      expect({ body, after: as2020(body) }).toEqual({ body, after: asDraft04(body) });
    }
  });

  it('refuses a schema of another dialect, and an exclusive bound with nothing to qualify', () => {
    expect(() => toJsonSchema2020({ $schema: 'https://json-schema.org/draft/2020-12/schema' })).toThrow(/\$schema must be draft-04/);
    expect(() => toJsonSchema2020({ type: 'number', exclusiveMinimum: true })).toThrow(/exclusiveMinimum: true needs a numeric minimum/);
  });
});

// The document is JSON: what the local gateway serves and `npm run openapi` writes is this object, stringified.
it('is plain JSON', () => {
  const document: OpenApiDocument = buildOpenApiDocument(GATEHOUSE_ROUTES);
  expect(JSON.parse(JSON.stringify(document))).toEqual(document);
});
