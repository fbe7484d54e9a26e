/**
 * An OpenAPI 3.1 document from the route spec: what a client team needs to call the API (paths,
 * path parameters, request bodies, responses with the error body, security, throttles), rendered from
 * the same data the gateway is. Pure: no aws-cdk-lib import, so the local gateway and scripts use it.
 */
import type { ApiKeySource } from '../routes/gateway-spec';
import { API_KEY_HEADER, GATEWAY_HEADERS } from '../routes/headers';
import type { JsonSchema, RouteSpec, RouteThrottle } from '../routes/route-spec';
import { openApiPath, operationIdOf, pathParameterNames } from '../routes/route-path';
import { validateRoutes } from '../routes/route-spec';

/** A JSON value of the document. */
export type OpenApiValue = string | number | boolean | null | readonly OpenApiValue[] | { readonly [key: string]: OpenApiValue };

/** An OpenAPI document, as plain JSON. */
export type OpenApiDocument = { readonly [key: string]: OpenApiValue };

/** A server of the document. */
export interface OpenApiServer {
  /** The base URL, the stage included (`https://abc.execute-api.eu-west-1.amazonaws.com/v1`, or `/v1`). */
  readonly url: string;
  /** @default - none */
  readonly description?: string;
}

/** Options of {@link buildOpenApiDocument}. */
export interface OpenApiOptions {
  /**
   * The API's title.
   * @default - 'Gatehouse API'
   */
  readonly title?: string;
  /**
   * The API's version (of the document, not of OpenAPI).
   * @default - '1.0.0'
   */
  readonly version?: string;
  /**
   * The stage, for the default server URL.
   * @default - 'v1'
   */
  readonly stageName?: string;
  /**
   * The servers clients call.
   * @default - the execute-api URL of the stage, with the API id and region as server variables
   */
  readonly servers?: readonly OpenApiServer[];
  /**
   * Where the gateway reads the API key: the `x-api-key` header, or the authorizer (then clients send none).
   * @default - 'HEADER'
   */
  readonly apiKeySource?: ApiKeySource;
}

/** The security scheme names of the document. */
export const OPENAPI_SECURITY = { bearer: 'bearerJwt', apiKey: 'apiKey' } as const;

/** The extension that carries a route's own throttle (the route spec's `throttle`: requests per second and burst). */
export const THROTTLE_EXTENSION = 'x-gatehouse-throttle';

/** The extension that carries a route's ceiling for all clients together (the route spec's `ceiling`), where it has one. */
export const CEILING_EXTENSION = 'x-gatehouse-ceiling';

/** The extension that lists a route's scopes, any one of which grants it. */
export const SCOPES_EXTENSION = 'x-gatehouse-scopes';

/** The draft-04 dialect the route spec's schemas (and API Gateway models) are written in. */
const DRAFT_04 = /^https?:\/\/json-schema\.org\/draft-04\/schema#?$/;

/**
 * The body of every error answer, from the gateway (gateway responses) and from the services alike:
 * the JSON Schema of `ErrorBody` (lib/routes/error-body.ts), which the services and both gateways build.
 */
export const ERROR_BODY_SCHEMA = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message', 'requestId'],
      properties: {
        code: { type: 'string', description: 'What went wrong, for programs: VALIDATION_FAILED, UNAUTHORIZED, THROTTLED, ...' },
        message: { type: 'string', description: 'What went wrong, for people' },
        requestId: { type: 'string', description: 'Quote it when asking about this request: it is in every log line of the request' },
      },
    },
  },
} as const satisfies OpenApiDocument;

/** The error answers every route may give, by status, with the codes behind each. */
const ERROR_RESPONSES: readonly (readonly [status: string, name: string, description: string, when: 'always' | 'body' | 'parameters'])[] = [
  ['400', 'BadRequest', 'VALIDATION_FAILED, MALFORMED_JSON, INVALID_QUERY...: the request does not match the API', 'always'],
  ['401', 'Unauthorized', 'UNAUTHORIZED: no bearer token, or not a valid one', 'always'],
  ['403', 'Forbidden', "FORBIDDEN (the token's scopes do not grant the route) or INVALID_API_KEY", 'always'],
  ['404', 'NotFound', 'PRODUCT_NOT_FOUND, ORDER_NOT_FOUND...: nothing has this id', 'parameters'],
  ['413', 'PayloadTooLarge', 'PAYLOAD_TOO_LARGE', 'body'],
  ['415', 'UnsupportedMediaType', 'UNSUPPORTED_MEDIA_TYPE: send application/json', 'body'],
  ['429', 'TooManyRequests', 'THROTTLED or QUOTA_EXCEEDED: slow down; the usage plan, the route or the stage limit was reached', 'always'],
  ['500', 'InternalError', 'INTERNAL or AUTHORIZER_FAILURE', 'always'],
  ['503', 'Unavailable', 'DEPENDENCY_UNAVAILABLE or PRODUCT_BUSY: retry later', 'always'],
  ['504', 'GatewayTimeout', 'GATEWAY_TIMEOUT: the service did not answer in time', 'always'],
];

/**
 * The OpenAPI 3.1 document of `routes`.
 * @throws Error if the routes are not a valid spec (see validateRoutes).
 */
export function buildOpenApiDocument(routes: readonly RouteSpec[], options: OpenApiOptions = {}): OpenApiDocument {
  validateRoutes(routes);
  const stageName = options.stageName ?? 'v1';
  const apiKeyHeader = (options.apiKeySource ?? 'HEADER') === 'HEADER';
  const schemas: Record<string, OpenApiValue> = { ErrorBody: ERROR_BODY_SCHEMA };
  const paths: Record<string, Record<string, OpenApiValue>> = {};
  for (const route of routes) {
    const operationId = operationIdOf(route);
    if (route.requestSchema !== undefined) schemas[operationId] = toJsonSchema2020(route.requestSchema);
    (paths[openApiPath(route.path)] ??= {})[route.method.toLowerCase()] = operation(route, operationId, apiKeyHeader);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: options.title ?? 'Gatehouse API',
      version: options.version ?? '1.0.0',
      description:
        'Every route needs a bearer JWT whose scopes grant it' +
        (apiKeyHeader ? ` and an API key in the ${API_KEY_HEADER} header (its usage plan sets your rate and quota).` : '.') +
        ` Every answer carries an ${GATEWAY_HEADERS.requestId} header; errors have the body ErrorBody.`,
    },
    servers: (options.servers ?? defaultServers(stageName)).map(serverObject),
    paths: Object.fromEntries(Object.entries(paths).sort(([a], [b]) => a.localeCompare(b))),
    components: {
      schemas,
      responses: Object.fromEntries(
        ERROR_RESPONSES.map(([, name, description]) => [
          name,
          { description, content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorBody' } } } },
        ]),
      ),
      securitySchemes: {
        [OPENAPI_SECURITY.bearer]: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description: "An access token of a trusted issuer (RS256 or ES256). A route's scopes are listed on it: a token with any one of them may call it.",
        },
        ...(apiKeyHeader && {
          [OPENAPI_SECURITY.apiKey]: {
            type: 'apiKey',
            in: 'header',
            name: API_KEY_HEADER,
            description: "Your tier's API key: its usage plan sets your rate limit and quota",
          },
        }),
      },
    },
  };
}

/** `GET /products/{id}` → `getProductsById`: the same name the CDK gateway gives the method and its model. */
export { operationIdOf };

/**
 * A draft-04 schema (the route spec's, API Gateway's) as JSON Schema 2020-12, the dialect of OpenAPI
 * 3.1, with the same meaning: `$schema` goes (the document's dialect applies), `id` becomes `$id`,
 * boolean `exclusiveMinimum`/`exclusiveMaximum` become the numbers they qualify, `definitions` become
 * `$defs` (and `$ref`s to them follow), tuple `items` become `prefixItems`, and `dependencies` split
 * into `dependentRequired` and `dependentSchemas`.
 */
export function toJsonSchema2020(schema: JsonSchema | Readonly<Record<string, unknown>>): { readonly [key: string]: OpenApiValue } {
  const source = schema as Readonly<Record<string, unknown>>;
  const out: Record<string, OpenApiValue> = {};
  for (const [key, value] of Object.entries(source)) {
    switch (key) {
      case '$schema':
        if (typeof value !== 'string' || !DRAFT_04.test(value))
          throw new Error(`schema $schema must be draft-04 (${DRAFT_04.source}), got ${JSON.stringify(value)}`);
        break;
      case 'id':
        out.$id = value as string;
        break;
      case 'exclusiveMinimum':
      case 'exclusiveMaximum': {
        const bound = key === 'exclusiveMinimum' ? 'minimum' : 'maximum';
        if (value === true) {
          if (typeof source[bound] !== 'number') throw new Error(`schema ${key}: true needs a numeric ${bound}, got ${JSON.stringify(source[bound])}`);
          out[key] = source[bound];
        } else if (typeof value === 'number') {
          out[key] = value;
        }
        break;
      }
      case 'minimum':
      case 'maximum': {
        const exclusive = key === 'minimum' ? 'exclusiveMinimum' : 'exclusiveMaximum';
        if (source[exclusive] !== true) out[key] = value as number;
        break;
      }
      case 'definitions':
        out.$defs = mapValues(value, toJsonSchema2020);
        break;
      case '$ref':
        out.$ref = String(value).replace(/^#\/definitions\//, '#/$defs/');
        break;
      case 'properties':
      case 'patternProperties':
        out[key] = mapValues(value, toJsonSchema2020);
        break;
      case 'items':
        if (Array.isArray(value)) out.prefixItems = value.map((entry: Record<string, unknown>) => toJsonSchema2020(entry));
        else out.items = toJsonSchema2020(value as Record<string, unknown>);
        break;
      case 'additionalItems':
        // With tuple `items` it is what 2020-12 calls `items`; without, draft-04 ignores it.
        if (Array.isArray(source.items)) out.items = typeof value === 'boolean' ? value : toJsonSchema2020(value as Record<string, unknown>);
        break;
      case 'additionalProperties':
      case 'not':
        out[key] = typeof value === 'boolean' ? value : toJsonSchema2020(value as Record<string, unknown>);
        break;
      case 'allOf':
      case 'anyOf':
      case 'oneOf':
        out[key] = (value as Record<string, unknown>[]).map((entry) => toJsonSchema2020(entry));
        break;
      case 'dependencies':
        for (const [name, dependency] of Object.entries(value as Record<string, unknown>)) {
          if (Array.isArray(dependency)) ((out.dependentRequired ??= {}) as Record<string, OpenApiValue>)[name] = dependency as string[];
          else ((out.dependentSchemas ??= {}) as Record<string, OpenApiValue>)[name] = toJsonSchema2020(dependency as Record<string, unknown>);
        }
        break;
      default:
        out[key] = value as OpenApiValue;
    }
  }
  return out;
}

function operation(route: RouteSpec, operationId: string, apiKeyHeader: boolean): Record<string, OpenApiValue> {
  const pathParameters = pathParameterNames(route.path).map((name) => ({
    name,
    in: 'path',
    required: true,
    schema: { type: 'string', minLength: 1 },
  }));
  const headerParameters = (route.headers ?? []).map((header) => ({
    name: header.name,
    in: 'header',
    required: header.required,
    description: header.description,
    schema: header.schema === undefined ? { type: 'string' } : toJsonSchema2020(header.schema),
  }));
  const parameters = [...pathParameters, ...headerParameters];
  const hasBody = route.requestSchema !== undefined;
  // Read by presence, so that route specs with and without a ceiling field render alike.
  const ceiling = 'ceiling' in route ? (route.ceiling as RouteThrottle | undefined) : undefined;
  const success = successOf(route);
  // Security requirement objects are alternatives: one per scope, since any one scope grants the route.
  const scopeSets = route.scopes.length === 0 ? [[]] : route.scopes.map((scope) => [scope]);
  const security = scopeSets.map((scopes) => ({ [OPENAPI_SECURITY.bearer]: scopes, ...(apiKeyHeader && { [OPENAPI_SECURITY.apiKey]: [] }) }));
  const responses: Record<string, OpenApiValue> = {
    [success.status]: {
      description: success.description,
      headers: { [GATEWAY_HEADERS.requestId]: { description: 'The id of this request, in every log line it caused', schema: { type: 'string' } } },
      ...(success.status !== '204' && { content: { 'application/json': { schema: {} } } }),
    },
  };
  for (const [status, name, , when] of ERROR_RESPONSES) {
    if (when === 'always' || (when === 'body' && hasBody) || (when === 'parameters' && pathParameters.length > 0))
      responses[status] = { $ref: `#/components/responses/${name}` };
  }
  responses.default = { description: 'Any other error', content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorBody' } } } };
  return {
    operationId,
    ...(route.summary !== undefined && { summary: route.summary }),
    tags: [route.service],
    ...(parameters.length > 0 && { parameters }),
    ...(hasBody && { requestBody: { required: true, content: { 'application/json': { schema: { $ref: `#/components/schemas/${operationId}` } } } } }),
    responses,
    security,
    [SCOPES_EXTENSION]: [...route.scopes],
    ...(route.throttle !== undefined && { [THROTTLE_EXTENSION]: limitOf(route.throttle) }),
    ...(ceiling !== undefined && { [CEILING_EXTENSION]: limitOf(ceiling) }),
  };
}

function limitOf(limit: RouteThrottle): OpenApiValue {
  return { rateLimit: limit.rateLimit, burstLimit: limit.burstLimit };
}

/** The services' convention: POST creates (201, with a Location), DELETE answers 204, the rest 200. */
function successOf(route: RouteSpec): { status: string; description: string } {
  if (route.method === 'POST') return { status: '201', description: 'Created' };
  if (route.method === 'DELETE') return { status: '204', description: 'Done, no content' };
  return { status: '200', description: 'OK' };
}

function defaultServers(stageName: string): OpenApiServer[] {
  return [
    { url: `https://{restApiId}.execute-api.{region}.amazonaws.com/${stageName}`, description: 'The API Gateway stage (see the ApiUrl output of the stack)' },
  ];
}

function serverObject(server: OpenApiServer): OpenApiValue {
  const variables = [...server.url.matchAll(/\{([^}]+)\}/g)].map((match) => match[1]);
  return {
    url: server.url,
    ...(server.description !== undefined && { description: server.description }),
    ...(variables.length > 0 && {
      variables: Object.fromEntries(
        variables.map((name) => [name, { default: name === 'region' ? 'us-east-1' : 'replace-me', description: `The ${name} of your deployment` }]),
      ),
    }),
  };
}

function mapValues(value: unknown, fn: (entry: Record<string, unknown>) => OpenApiValue): { [key: string]: OpenApiValue } {
  return Object.fromEntries(Object.entries(value as Record<string, Record<string, unknown>>).map(([name, entry]) => [name, fn(entry)]));
}
