/**
 * The HTTP edge both services share, on Fastify: JSON logs (one line per request), request ids,
 * body validation with the route spec's draft-04 schemas, JSON errors, /health and /ready.
 */
import { randomUUID } from 'node:crypto';
import Ajv from 'ajv-draft-04';
import Fastify, { LogController } from 'fastify';
import type { FastifyBaseLogger, FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { LOG_CODE_FIELD } from '../../lib/monitoring/log-codes';
import { GATEWAY_HEADERS } from '../../lib/routes/headers';
import { errorBody } from '../../lib/routes/error-body';
import type { ErrorCode } from './errors';
import { httpStatusOf, ServiceError } from './errors';
import { isRetryable } from './deadline';

/** Options of {@link createService}. */
export interface ServiceOptions {
  /** The service's name, on every log line. */
  readonly name: string;
  /** Resolves when the service's dependencies answer; rejects with why not. */
  readonly readiness: () => Promise<void>;
  /** Where logs go. @default - JSON lines on stdout at info level */
  readonly logger?: FastifyBaseLogger | false;
  /** Largest request body, in bytes. @default - 64 KiB */
  readonly bodyLimitBytes?: number;
}

/** Default largest request body: far above any valid order (50 items) or product. */
export const DEFAULT_BODY_LIMIT_BYTES = 64 * 1024;

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The code each error answer was sent with, for its access log line (GatewayMonitoring's metric filters count codes). */
const answeredCodes = new WeakMap<FastifyReply, ErrorCode>();

/** One log line per request, when it completes; never bodies, headers or tokens. */
class AccessLog extends LogController {
  constructor() {
    super({ requestIdLogLabel: 'requestId' });
  }

  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    const code = answeredCodes.get(reply);
    const fields = {
      method: request.method,
      path: request.url.split('?')[0],
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime * 100) / 100,
      ...(code !== undefined && { [LOG_CODE_FIELD]: code }),
    };
    if (reply.statusCode >= 500) reply.log.error({ ...fields, error: error?.name }, 'request failed');
    else reply.log.info(fields, 'request');
  }
}

/** A Fastify instance with the shared edge; the service adds its routes. */
export function createService(options: ServiceOptions): FastifyInstance {
  const ajv = new Ajv({ allErrors: false, strict: true, coerceTypes: false });
  const app = Fastify({
    ...(options.logger === false
      ? { logger: false }
      : options.logger !== undefined
        ? { loggerInstance: options.logger }
        : {
            logger: {
              level: 'info',
              base: { service: options.name },
              timestamp: () => `,"time":"${new Date().toISOString()}"`,
              formatters: { level: (label: string) => ({ level: label }) },
            },
          }),
    logController: new AccessLog(),
    bodyLimit: options.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES,
    requestIdHeader: false,
    // The gateway always sets x-request-id; anything else (too long, odd characters) gets a fresh one.
    genReqId: (request) => {
      const header = request.headers[GATEWAY_HEADERS.requestId];
      return typeof header === 'string' && REQUEST_ID.test(header) ? header : randomUUID();
    },
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  });

  app.setValidatorCompiler(({ schema }) => ajv.compile(schema));
  // JSON only: a text/plain body would otherwise reach validation as a string.
  app.removeContentTypeParser('text/plain');
  // Once closing, every response ends its connection: a client's keep-alive connection would
  // otherwise hold the server open after the last request, until the shutdown deadline kills it.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (request, reply) => {
    reply.header(GATEWAY_HEADERS.requestId, request.id);
    if (closing) reply.header('connection', 'close');
  });
  app.setErrorHandler((error: FastifyError, request, reply) => sendError(reply, request, classify(error, request)));
  app.setNotFoundHandler((request, reply) =>
    sendError(reply, request, new ServiceError('ROUTE_NOT_FOUND', `no route for ${request.method} ${request.url.split('?')[0]}`)),
  );

  app.get('/health', async () => ({ status: 'ok' }));
  app.get('/ready', async (request, reply) => {
    try {
      await options.readiness();
      return { status: 'ready' };
    } catch (error) {
      request.log.warn({ error: error instanceof Error ? error.message : String(error) }, 'not ready');
      return reply.code(503).send({ status: 'not ready' });
    }
  });
  return app;
}

/** Sends the JSON error body for `error`. */
export function sendError(reply: FastifyReply, request: FastifyRequest, error: ServiceError): FastifyReply {
  const body = errorBody(error.code, error.message, request.id);
  answeredCodes.set(reply, error.code);
  const status = httpStatusOf(error.code);
  // Worth retrying soon (with the same Idempotency-Key for an order): say when.
  if (status === 503 || error.code === 'IDEMPOTENCY_IN_PROGRESS') reply.header('retry-after', '1');
  return reply.code(status).type('application/json').send(body);
}

/** Maps what a route threw to a ServiceError; logs what nobody expected. */
function classify(error: FastifyError, request: FastifyRequest): ServiceError {
  if (error instanceof ServiceError) return error;
  if (error.validation !== undefined && error.validation.length > 0) {
    const [first] = error.validation;
    const where = `${error.validationContext ?? 'body'}${first.instancePath}`;
    const property = (first.params as { missingProperty?: string; additionalProperty?: string } | undefined) ?? {};
    const detail = property.additionalProperty !== undefined ? `must not have the property ${property.additionalProperty}` : (first.message ?? 'is invalid');
    return new ServiceError('VALIDATION_FAILED', `${where} ${detail}`);
  }
  const frameworkCodes: Readonly<Record<string, [ErrorCode, string]>> = {
    FST_ERR_CTP_BODY_TOO_LARGE: ['PAYLOAD_TOO_LARGE', 'request body is too large'],
    FST_ERR_CTP_INVALID_MEDIA_TYPE: ['UNSUPPORTED_MEDIA_TYPE', 'send the body as application/json'],
    FST_ERR_CTP_EMPTY_JSON_BODY: ['MALFORMED_JSON', 'request body is empty'],
    FST_ERR_CTP_INVALID_JSON_BODY: ['MALFORMED_JSON', 'request body is not valid JSON'],
  };
  const known = frameworkCodes[error.code];
  if (known !== undefined) return new ServiceError(known[0], known[1]);
  if (error instanceof SyntaxError && error.statusCode === 400) return new ServiceError('MALFORMED_JSON', 'request body is not valid JSON');
  if (isRetryable(error)) {
    // A dependency timed out, dropped the connection or failed: the client may retry (503), not a bug (500).
    request.log.warn({ error: error.name, message: error.message }, 'dependency failed');
    return new ServiceError('DEPENDENCY_UNAVAILABLE', 'a dependency did not answer in time; retry (with the same Idempotency-Key for an order)');
  }
  request.log.error({ error: error.name, message: error.message, stack: error.stack }, 'unexpected error');
  return new ServiceError('INTERNAL', 'internal error');
}
