/** The one error body: its builder, and the gateway response template made from it. */
import Ajv2020 from 'ajv/dist/2020';
import { GATEWAY_ERRORS, gatewayErrorTemplate } from '../../lib/gateway/gateway-errors';
import { ERROR_BODY_SCHEMA } from '../../lib/openapi/openapi';
import { errorBody, errorBodyTemplate, SERVICE_ERROR_STATUS } from '../../lib/routes/error-body';
import { errorBody as localErrorBody, gatewayAnswer } from '../../local/gateway/answers';
import { httpStatusOf, isErrorCode } from '../../services/common/errors';

/** What API Gateway does with a template: `$context.error.messageString` is the message, quoted. */
function renderTemplate(template: string, message: string, requestId: string): string {
  return template.replace('$context.error.messageString', JSON.stringify(message)).replace('$context.requestId', requestId);
}

describe('errorBody', () => {
  it('builds the shape the OpenAPI document declares', () => {
    const validate = new Ajv2020({ strict: true }).compile(ERROR_BODY_SCHEMA);
    const body = errorBody('PRODUCT_NOT_FOUND', 'no product p-1', 'req-1');
    expect(body).toEqual({ error: { code: 'PRODUCT_NOT_FOUND', message: 'no product p-1', requestId: 'req-1' } });
    expect(validate(body)).toBe(true);
  });

  it('is what the local gateway answers with', () => {
    const answer = gatewayAnswer('THROTTLED');
    expect(localErrorBody(answer, 'req-2')).toEqual(errorBody(answer.code, answer.message, 'req-2'));
  });
});

describe('errorBodyTemplate', () => {
  it('renders, once API Gateway fills it in, the same body as errorBody', () => {
    for (const error of GATEWAY_ERRORS) {
      const rendered = renderTemplate(gatewayErrorTemplate(error), 'Too "many" requests', 'req-3');
      expect(JSON.parse(rendered)).toEqual(errorBody(error.code, 'Too "many" requests', 'req-3'));
    }
  });

  it('leaves the message to API Gateway, which quotes it, and quotes the request id itself', () => {
    expect(errorBodyTemplate('THROTTLED')).toBe('{"error":{"code":"THROTTLED","message":$context.error.messageString,"requestId":"$context.requestId"}}');
  });

  it('refuses a code that would not stay literal in a mapping template', () => {
    expect(() => errorBodyTemplate('a"b')).toThrow(/code must be upper-case letters, digits and _.*"a\\"b"/);
    expect(() => errorBodyTemplate('$context.x')).toThrow(/code must be/);
  });
});

describe('the services error codes', () => {
  it('each have the status of the shared table', () => {
    for (const [code, status] of Object.entries(SERVICE_ERROR_STATUS)) {
      expect(isErrorCode(code)).toBe(true);
      if (isErrorCode(code)) expect(httpStatusOf(code)).toBe(status);
    }
    expect(isErrorCode('THROTTLED')).toBe(false);
    expect(isErrorCode('toString')).toBe(false);
  });
});
