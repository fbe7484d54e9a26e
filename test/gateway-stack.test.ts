/** GatewayStack at this stage: every route of the spec behind the JWT authorizer, and the app's configuration. */
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { readGatehouseConfig } from '../lib/config';
import { GatewayStack } from '../lib/gateway-stack';
import { GATEHOUSE_ROUTES } from '../lib/routes/gatehouse-routes';
import { routeKey } from '../lib/routes/route-spec';

const CONFIG = { issuers: [{ issuer: 'https://issuer.example.com', audience: 'api' }], authorizer: { resultsCacheTtlSeconds: 60 } };

function template(config: unknown = CONFIG): Template {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  return Template.fromStack(new GatewayStack(app, 'Gatehouse', { config: readGatehouseConfig(config) }));
}

describe('GatewayStack', () => {
  const synthesized = template();

  it('renders every route of the spec, and only those, each behind the JWT authorizer', () => {
    const resources = synthesized.findResources('AWS::ApiGateway::Resource');
    const pathOf = (logicalId: string): string => {
      const { ParentId, PathPart } = resources[logicalId].Properties as { ParentId: { Ref?: string }; PathPart: string };
      return ParentId.Ref !== undefined && resources[ParentId.Ref] !== undefined ? `${pathOf(ParentId.Ref)}/${PathPart}` : `/${PathPart}`;
    };
    const methods = Object.values(synthesized.findResources('AWS::ApiGateway::Method')) as {
      Properties: { HttpMethod: string; ResourceId: { Ref: string }; AuthorizationType: string; AuthorizerId?: unknown };
    }[];
    expect(methods.map((method) => `${method.Properties.HttpMethod} ${pathOf(method.Properties.ResourceId.Ref)}`).sort()).toEqual(
      GATEHOUSE_ROUTES.map(routeKey).sort(),
    );
    for (const method of methods) {
      expect(method.Properties).toMatchObject({ AuthorizationType: 'CUSTOM', AuthorizerId: { Ref: expect.stringMatching(/^Authorizer/) } });
    }
  });

  it('takes the authorizer settings from the configuration', () => {
    synthesized.hasResourceProperties('AWS::ApiGateway::Authorizer', { AuthorizerResultTtlInSeconds: 60, Type: 'REQUEST' });
  });

  it('logs every request as JSON and traces it, on stage v1 by default', () => {
    synthesized.hasResourceProperties('AWS::ApiGateway::Stage', {
      StageName: 'v1',
      TracingEnabled: true,
      AccessLogSetting: { DestinationArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^AccessLogs'), 'Arn'] }, Format: Match.stringLikeRegexp('"requestId":"\\$context.requestId"') },
    });
  });
});

describe('readGatehouseConfig', () => {
  it('accepts the configuration as an object or as JSON text (from -c on the command line)', () => {
    expect(readGatehouseConfig(JSON.stringify(CONFIG))).toEqual(CONFIG);
    expect(readGatehouseConfig(CONFIG)).toBe(CONFIG);
  });

  it.each<[string, unknown, RegExp]>([
    ['is missing', undefined, /context "gatehouse" is missing: set it in cdk.json/],
    ['is not JSON', '{issuers', /context "gatehouse" is a string that is not JSON/],
    ['is a list', [], /context "gatehouse" must be an object/],
    ['has no issuers', { issuers: [] }, /issuers must list at least one issuer/],
    ['has an issuer without audience', { issuers: [{ issuer: 'https://a.example.com' }] }, /issuers\[0\] must be \{ "issuer": string, "audience": string \| string\[\]/],
    ['has a TTL that is text', { ...CONFIG, authorizer: { resultsCacheTtlSeconds: '300' } }, /authorizer.resultsCacheTtlSeconds must be a number of seconds, got "300"/],
    ['has a stage name with a slash', { ...CONFIG, stageName: 'v1/beta' }, /stageName must be 1 to 128 letters, digits or underscores, got "v1\/beta"/],
  ])('refuses a configuration that %s', (_name, value, message) => {
    expect(() => readGatehouseConfig(value)).toThrow(message);
  });

  it('leaves rules to the constructs, which name the prop: a cache TTL over an hour', () => {
    expect(() => template({ ...CONFIG, authorizer: { resultsCacheTtlSeconds: 7200 } })).toThrow(/resultsCacheTtl must be whole seconds from 0 to 3600, got 7200/);
  });
});
