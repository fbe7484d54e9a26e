/** JwtAuthorizer: the synthesized function, authorizer, permission and role, its defaults, overrides and errors. */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as logs from 'aws-cdk-lib/aws-logs';
import { AUTHORIZER_CONFIG_ENV, buildScopeTable, encodeAuthorizerConfig } from '../../lib/auth/authorizer-contract';
import { JwtAuthorizer } from '../../lib/auth/jwt-authorizer';
import type { JwtAuthorizerProps } from '../../lib/auth/jwt-authorizer';
import { GATEHOUSE_ROUTES } from '../../lib/routes/gatehouse-routes';
import type { RouteSpec } from '../../lib/routes/route-spec';
import { testConfig } from '../support/authorizer';
import { awsSolutionsFindings } from '../support/cdk';
import { TestIssuer } from '../support/test-issuer';

const ISSUER = 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf';
const BASE_PROPS: JwtAuthorizerProps = { issuers: [{ issuer: ISSUER, audience: 'app-client-id' }], routes: GATEHOUSE_ROUTES };

/** A stack with a REST API whose one method uses the authorizer (an authorizer must be attached to an API). */
function build(props: Partial<JwtAuthorizerProps> = {}, options: { bundle?: boolean; outdir?: string } = {}) {
  const app = new App({
    ...(options.outdir !== undefined && { outdir: options.outdir }),
    // Skip esbuild where the test reads only the template: bundling is covered once, below.
    context: options.bundle === true ? {} : { 'aws:cdk:bundling-stacks': [] },
  });
  const stack = new Stack(app, 'Stack', { env: { account: '123456789012', region: 'eu-west-1' } });
  const jwt = new JwtAuthorizer(stack, 'Auth', { ...BASE_PROPS, ...props });
  const api = new apigateway.RestApi(stack, 'Api', { deploy: false });
  api.root.addResource('orders').addMethod('GET', new apigateway.MockIntegration(), { authorizer: jwt.authorizer });
  return { app, stack, jwt };
}

function synth(props: Partial<JwtAuthorizerProps> = {}, options: { bundle?: boolean; outdir?: string } = {}) {
  const built = build(props, options);
  return { ...built, template: Template.fromStack(built.stack) };
}

function deployedConfig(template: Template): unknown {
  const functions = template.findResources('AWS::Lambda::Function');
  const [fn] = Object.values(functions) as { Properties: { Environment: { Variables: Record<string, string> } } }[];
  return JSON.parse(fn.Properties.Environment.Variables[AUTHORIZER_CONFIG_ENV]);
}

describe('defaults', () => {
  const { template, jwt } = synth();

  it('runs the bundled handler on nodejs24.x, ARM64, traced, with source maps', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      MemorySize: 512,
      Timeout: 10,
      TracingConfig: { Mode: 'Active' },
      LoggingConfig: { LogGroup: { Ref: Match.stringLikeRegexp('AuthLogGroup') } },
      Environment: { Variables: { NODE_OPTIONS: '--enable-source-maps', [AUTHORIZER_CONFIG_ENV]: Match.anyValue() } },
    });
  });

  it('hands the function its issuers, defaults and the scope table of the routes', () => {
    expect(deployedConfig(template)).toEqual({
      issuers: [{ issuer: ISSUER, audience: ['app-client-id'], jwksUri: `${ISSUER}/.well-known/jwks.json` }],
      algorithms: ['RS256', 'ES256'],
      clockToleranceSeconds: 30,
      scopeTable: buildScopeTable(GATEHOUSE_ROUTES),
      jwks: { timeoutMs: 3000, cooldownMs: 30000, cacheMaxAgeMs: 600000 },
    });
    expect(jwt.config.issuers[0].jwksUri).toBe(`${ISSUER}/.well-known/jwks.json`);
  });

  it('keeps the logs a month', () => {
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
  });

  it('is a REQUEST authorizer on the Authorization header, cached for 300 s', () => {
    template.hasResourceProperties('AWS::ApiGateway::Authorizer', {
      Type: 'REQUEST',
      IdentitySource: 'method.request.header.Authorization',
      AuthorizerResultTtlInSeconds: 300,
      AuthorizerUri: Match.objectLike({
        'Fn::Join': Match.arrayWith([Match.arrayWith([Match.objectLike({ 'Fn::GetAtt': [Match.stringLikeRegexp('AuthHandler'), 'Arn'] })])]),
      }),
    });
    template.hasResourceProperties('AWS::ApiGateway::Method', { AuthorizationType: 'CUSTOM', AuthorizerId: { Ref: Match.stringLikeRegexp('^Auth') } });
  });

  it('lets only API Gateway invoke the function, and only through this authorizer of this API', () => {
    template.resourceCountIs('AWS::Lambda::Permission', 1);
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      Principal: 'apigateway.amazonaws.com',
      FunctionName: { 'Fn::GetAtt': [Match.stringLikeRegexp('AuthHandler'), 'Arn'] },
      SourceArn: {
        'Fn::Join': [
          '',
          Match.arrayWith([
            ':execute-api:eu-west-1:123456789012:',
            { Ref: Match.stringLikeRegexp('^Api') },
            '/authorizers/',
            { Ref: Match.stringLikeRegexp('^Auth') },
          ]),
        ],
      },
    });
  });

  it('has a role that writes its own log group and X-Ray traces, and nothing else', () => {
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: { Statement: [Match.objectLike({ Principal: { Service: 'lambda.amazonaws.com' } })] },
      ManagedPolicyArns: Match.absent(),
    });
    const policies = Object.values(template.findResources('AWS::IAM::Policy')) as { Properties: { PolicyDocument: { Statement: unknown[] } } }[];
    expect(policies).toHaveLength(1);
    expect(policies[0].Properties.PolicyDocument.Statement).toEqual([
      { Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: { 'Fn::GetAtt': [expect.stringMatching(/^AuthLogGroup/), 'Arn'] } },
      { Effect: 'Allow', Action: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'], Resource: '*' },
    ]);
  });
});

describe('overrides', () => {
  it('take the cache TTL, algorithms, tolerance, token type, usage claim, JWKS timings, memory and retention', () => {
    const { template } = synth({
      issuers: [
        { issuer: ISSUER, audience: ['a', 'b'], jwksUri: 'https://keys.example.com/jwks' },
        { issuer: 'urn:partner', audience: 'c', jwksUri: 'https://partner.example.com/keys' },
      ],
      resultsCacheTtl: Duration.seconds(0),
      algorithms: ['ES256'],
      clockTolerance: Duration.seconds(5),
      tokenType: 'at+jwt',
      usageIdentifierClaim: 'custom:tier_key',
      jwksFetchTimeout: Duration.seconds(2),
      jwksCooldown: Duration.minutes(1),
      jwksCacheMaxAge: Duration.hours(1),
      memorySize: 1769,
      logRetention: logs.RetentionDays.ONE_YEAR,
    });
    template.hasResourceProperties('AWS::ApiGateway::Authorizer', { AuthorizerResultTtlInSeconds: 0 });
    template.hasResourceProperties('AWS::Lambda::Function', { MemorySize: 1769 });
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 365 });
    expect(deployedConfig(template)).toMatchObject({
      issuers: [
        { issuer: ISSUER, audience: ['a', 'b'], jwksUri: 'https://keys.example.com/jwks' },
        { issuer: 'urn:partner', audience: ['c'], jwksUri: 'https://partner.example.com/keys' },
      ],
      algorithms: ['ES256'],
      clockToleranceSeconds: 5,
      tokenType: 'at+jwt',
      usageIdentifierClaim: 'custom:tier_key',
      jwks: { timeoutMs: 2000, cooldownMs: 60000, cacheMaxAgeMs: 3600000 },
    });
  });
});

describe('validation at synth', () => {
  const manyRoutes: RouteSpec[] = Array.from({ length: 80 }, (_, index) => ({
    method: 'GET',
    path: `/resources-with-a-long-name-${index}`,
    service: 'svc',
    scopes: [`scope-number-${index}:read`],
  }));

  it.each<[string, Partial<JwtAuthorizerProps>, RegExp]>([
    ['a cache TTL over an hour', { resultsCacheTtl: Duration.seconds(7200) }, /resultsCacheTtl must be whole seconds from 0 to 3600, got 7200/],
    ['a cache TTL in fractions of a second', { resultsCacheTtl: Duration.millis(1500) }, /resultsCacheTtl must be whole seconds from 0 to 3600, got 1.5/],
    ['no issuers', { issuers: [] }, /issuers must list at least one trusted issuer, got none/],
    ['an empty audience', { issuers: [{ issuer: ISSUER, audience: [] }] }, /issuers\[0\].audience must list at least one non-empty audience/],
    ['an http JWKS URI', { issuers: [{ issuer: ISSUER, audience: 'a', jwksUri: 'http://keys.example.com/jwks' }] }, /issuers\[0\].jwksUri must use https/],
    [
      'a loopback http JWKS URI',
      { issuers: [{ issuer: ISSUER, audience: 'a', jwksUri: 'http://127.0.0.1:8080/jwks' }] },
      /issuers\[0\].jwksUri must use https/,
    ],
    ['a JWKS URI that is no URL', { issuers: [{ issuer: ISSUER, audience: 'a', jwksUri: 'keys' }] }, /issuers\[0\].jwksUri must be a URL, got "keys"/],
    [
      'an issuer to derive no JWKS URI from',
      { issuers: [{ issuer: 'urn:partner', audience: 'a' }] },
      /issuers\[0\].jwksUri is needed: the issuer "urn:partner" is not an https URL/,
    ],
    [
      'an issuer twice',
      {
        issuers: [
          { issuer: ISSUER, audience: 'a' },
          { issuer: ISSUER, audience: 'b' },
        ],
      },
      /issuers\[1\].issuer .* is listed twice/,
    ],
    ['a symmetric algorithm', { algorithms: ['HS256' as 'RS256'] }, /algorithms: "HS256" is not allowed/],
    ['no algorithm', { algorithms: [] }, /algorithms must list at least one/],
    ['a clock tolerance over 5 minutes', { clockTolerance: Duration.minutes(10) }, /clockTolerance must be whole seconds from 0 to 300, got 600/],
    [
      'a JWKS timeout as long as the function',
      { jwksFetchTimeout: Duration.seconds(10) },
      /jwksFetchTimeout must be less than the function timeout of 10 seconds, got 10 seconds/,
    ],
    ['an empty token type', { tokenType: '' }, /tokenType must be a non-empty string/],
    ['an invalid route spec', { routes: [...GATEHOUSE_ROUTES, GATEHOUSE_ROUTES[0]] }, /routes: GET \/products duplicates GET \/products/],
    [
      'more routes than fit in the Lambda environment',
      { routes: manyRoutes },
      /the authorizer's environment .* is \d+ bytes, over the 4096 bytes Lambda allows/,
    ],
  ])('%s', (_name, props, message) => {
    expect(() => synth(props)).toThrow(message);
  });
});

describe('routes added later', () => {
  it('reach the function: addRoutes extends the scope table it gets at synth', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new Stack(app, 'Stack');
    const jwt = new JwtAuthorizer(stack, 'Auth', { issuers: BASE_PROPS.issuers });
    const api = new apigateway.RestApi(stack, 'Api', { deploy: false });
    api.root.addMethod('GET', new apigateway.MockIntegration(), { authorizer: jwt.authorizer });
    jwt.addRoutes(GATEHOUSE_ROUTES.slice(0, 2));
    jwt.addRoutes([{ method: 'GET', path: '/invoices/{id}', service: 'billing', scopes: ['invoices:read'] }]);
    expect(deployedConfig(Template.fromStack(stack))).toMatchObject({
      scopeTable: { byScope: { 'products:read': ['GET/products', 'GET/products/*'], 'invoices:read': ['GET/invoices/*'] } },
    });
    expect(() => jwt.addRoutes([GATEHOUSE_ROUTES[0]])).toThrow(/GET \/products duplicates GET \/products/);
  });

  it('and none at all fails the synth, naming the authorizer', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new Stack(app, 'Stack');
    const jwt = new JwtAuthorizer(stack, 'Auth', { issuers: BASE_PROPS.issuers });
    new apigateway.RestApi(stack, 'Api', { deploy: false }).root.addMethod('GET', new apigateway.MockIntegration(), { authorizer: jwt.authorizer });
    expect(() => Template.fromStack(stack)).toThrow(/Stack\/Auth: the authorizer serves no routes/);
  });
});

describe('the bundled function', () => {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-authorizer-'));
  let template: Template;
  let bundle: string;
  let issuer: TestIssuer;
  beforeAll(async () => {
    ({ template } = synth({}, { bundle: true, outdir }));
    const fn = Object.values(template.findResources('AWS::Lambda::Function'))[0] as { Properties: { Code: { S3Key: string } } };
    bundle = path.join(outdir, `asset.${fn.Properties.Code.S3Key.replace(/\.zip$/, '')}`, 'index.mjs');
    issuer = await TestIssuer.start();
  });
  afterAll(async () => {
    await issuer.close();
    fs.rmSync(outdir, { recursive: true, force: true });
  });

  /** Runs the bundle in a fresh Node process as Lambda would: config in the environment, one event. */
  async function invoke(config: string, authorization: string | undefined): Promise<string> {
    // Node.js 24 loads undici with node:http itself, so what counts is what the bundle adds to that,
    // and that it never calls fetch.
    const script = `
      await import('node:http'); await import('node:https');
      const undiciBefore = process.moduleLoadList.some((name) => name.includes('undici'));
      globalThis.fetch = () => { throw new Error('fetch called'); };
      const { handler } = await import(${JSON.stringify(bundle)});
      const event = { type: 'REQUEST', methodArn: 'arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/GET/orders', headers: ${JSON.stringify(authorization === undefined ? {} : { Authorization: authorization })}, requestContext: { requestId: 'r-1' } };
      try { const result = await handler(event); console.log('ALLOWED:' + result.policyDocument.Statement[0].Effect); } catch (error) { console.log('REJECTED:' + error.message); }
      console.log('UNDICI_ADDED:' + (!undiciBefore && process.moduleLoadList.some((name) => name.includes('undici'))));`;
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
      env: { PATH: process.env.PATH, [AUTHORIZER_CONFIG_ENV]: config },
    });
    return stdout;
  }

  it('is a small ESM bundle without the CDK that loads on Node.js and answers a tokenless request with Unauthorized', async () => {
    const code = fs.readFileSync(bundle, 'utf8');
    expect(code).not.toMatch(/aws-cdk-lib|constructs/);
    expect(fs.statSync(bundle).size).toBeLessThan(64 * 1024);

    const stdout = await invoke(JSON.stringify(deployedConfig(template)), undefined);
    expect(stdout).toContain('REJECTED:Unauthorized\n');
    expect(stdout).toContain('"code":"TOKEN_MISSING"');
  });

  it('verifies a token against a live JWKS without fetch, so that it adds no undici to a cold start', async () => {
    const stdout = await invoke(encodeAuthorizerConfig(testConfig([issuer])), `Bearer ${await issuer.sign()}`);

    expect(stdout).toContain('ALLOWED:Allow\n');
    expect(stdout).toContain('UNDICI_ADDED:false');
  });
});

describe('cdk-nag AwsSolutions', () => {
  it('finds nothing in the authorizer that is not fixed or acknowledged with a reason', () => {
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-nag-'));
    try {
      // The bare test API around it has findings of its own; only ours matter here.
      const findings = awsSolutionsFindings(build({}, { outdir }).app, outdir);
      expect(findings.length).toBeGreaterThan(0);
      expect(findings.filter((finding) => finding.includes(' Stack/Auth/'))).toEqual([]);
    } finally {
      fs.rmSync(outdir, { recursive: true, force: true });
    }
  });
});
