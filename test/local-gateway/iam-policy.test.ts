/** IAM evaluation of authorizer policies: explicit Deny wins, `*` spans `/`, malformed policies never allow. */
import { evaluatePolicy, INVOKE_ACTION, parsePolicy, PolicyFormatError, wildcardPattern } from '../../local/gateway/iam-policy';

const STAGE = 'arn:aws:execute-api:local:000000000000:local/v1';
const policy = (...Statement: unknown[]) => parsePolicy({ Version: '2012-10-17', Statement });
const allow = (Resource: string | string[]) => ({ Effect: 'Allow', Action: INVOKE_ACTION, Resource });
const deny = (Resource: string | string[]) => ({ Effect: 'Deny', Action: INVOKE_ACTION, Resource });

describe('evaluatePolicy', () => {
  it('allows what an Allow matches and denies the rest implicitly', () => {
    const document = policy(allow([`${STAGE}/GET/products`, `${STAGE}/GET/products/*`]));
    expect(evaluatePolicy(document, INVOKE_ACTION, `${STAGE}/GET/products`)).toBe('allow');
    expect(evaluatePolicy(document, INVOKE_ACTION, `${STAGE}/GET/products/p-1`)).toBe('allow');
    expect(evaluatePolicy(document, INVOKE_ACTION, `${STAGE}/POST/products`)).toBe('implicit-deny');
    expect(evaluatePolicy(document, INVOKE_ACTION, `${STAGE}/GET/productsx`)).toBe('implicit-deny');
  });

  it('lets * match any characters, / included, as IAM does', () => {
    const document = policy(allow(`${STAGE}/GET/a/*`));
    expect(evaluatePolicy(document, INVOKE_ACTION, `${STAGE}/GET/a/1/b/2`)).toBe('allow');
    expect(evaluatePolicy(policy(allow(`${STAGE}/*`)), INVOKE_ACTION, `${STAGE}/DELETE/x/y`)).toBe('allow');
  });

  it('lets ? match exactly one character', () => {
    const document = policy(allow(`${STAGE}/GET/p?`));
    expect(evaluatePolicy(document, INVOKE_ACTION, `${STAGE}/GET/p1`)).toBe('allow');
    expect(evaluatePolicy(document, INVOKE_ACTION, `${STAGE}/GET/p12`)).toBe('implicit-deny');
  });

  it('gives an explicit Deny precedence over any Allow, in either order', () => {
    const arn = `${STAGE}/POST/orders`;
    expect(evaluatePolicy(policy(allow(`${STAGE}/*`), deny(arn)), INVOKE_ACTION, arn)).toBe('explicit-deny');
    expect(evaluatePolicy(policy(deny(`${STAGE}/*`), allow(arn)), INVOKE_ACTION, arn)).toBe('explicit-deny');
    expect(evaluatePolicy(policy(allow(`${STAGE}/*`), deny(arn)), INVOKE_ACTION, `${STAGE}/GET/orders`)).toBe('allow');
  });

  it('matches the action without case and with wildcards, and the resource with case', () => {
    expect(evaluatePolicy(policy({ Effect: 'Allow', Action: 'EXECUTE-API:invoke', Resource: '*' }), INVOKE_ACTION, `${STAGE}/GET/x`)).toBe('allow');
    expect(evaluatePolicy(policy({ Effect: 'Allow', Action: 'execute-api:*', Resource: '*' }), INVOKE_ACTION, `${STAGE}/GET/x`)).toBe('allow');
    expect(evaluatePolicy(policy({ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }), INVOKE_ACTION, `${STAGE}/GET/x`)).toBe('implicit-deny');
    expect(evaluatePolicy(policy(allow(`${STAGE}/GET/X`)), INVOKE_ACTION, `${STAGE}/GET/x`)).toBe('implicit-deny');
  });

  it('reads NotResource and NotAction as everything but', () => {
    const document = policy({ Effect: 'Deny', Action: INVOKE_ACTION, NotResource: `${STAGE}/GET/*` }, allow('*'));
    expect(evaluatePolicy(document, INVOKE_ACTION, `${STAGE}/GET/x`)).toBe('allow');
    expect(evaluatePolicy(document, INVOKE_ACTION, `${STAGE}/POST/x`)).toBe('explicit-deny');
    expect(evaluatePolicy(policy({ Effect: 'Allow', NotAction: INVOKE_ACTION, Resource: '*' }), INVOKE_ACTION, `${STAGE}/GET/x`)).toBe('implicit-deny');
  });

  it('takes regular-expression characters in a resource literally', () => {
    expect(evaluatePolicy(policy(allow(`${STAGE}/GET/a.b`)), INVOKE_ACTION, `${STAGE}/GET/axb`)).toBe('implicit-deny');
    expect(wildcardPattern('a+(b)').test('a+(b)')).toBe(true);
  });
});

describe('parsePolicy', () => {
  it.each([
    ['no document', undefined],
    ['no statement', { Version: '2012-10-17', Statement: [] }],
    ['a lower-case effect', { Statement: [{ Effect: 'allow', Action: INVOKE_ACTION, Resource: '*' }] }],
    ['no resource', { Statement: [{ Effect: 'Allow', Action: INVOKE_ACTION }] }],
    ['both Resource and NotResource', { Statement: [{ Effect: 'Allow', Action: INVOKE_ACTION, Resource: '*', NotResource: '*' }] }],
    ['a resource that is not a string', { Statement: [{ Effect: 'Allow', Action: INVOKE_ACTION, Resource: [42] }] }],
    [
      'a condition it cannot evaluate',
      { Statement: [{ Effect: 'Allow', Action: INVOKE_ACTION, Resource: '*', Condition: { IpAddress: { 'aws:SourceIp': '10.0.0.0/8' } } }] },
    ],
  ])('refuses %s', (_name, document) => {
    expect(() => parsePolicy(document)).toThrow(PolicyFormatError);
  });

  it('takes a single statement object as API Gateway does', () => {
    const document = parsePolicy({ Version: '2012-10-17', Statement: allow('*') });
    expect(evaluatePolicy(document, INVOKE_ACTION, `${STAGE}/GET/x`)).toBe('allow');
  });
});
