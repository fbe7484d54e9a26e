/**
 * GatewayMonitoring: each alarm with its default and overridden threshold, the metric filters'
 * patterns, the encrypted topic every alarm notifies, the one dashboard along the request path, and
 * cdk-nag clean.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Duration } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as sns from 'aws-cdk-lib/aws-sns';
import { DEFAULT_ALARM_THRESHOLDS, GatewayMonitoring, GATEHOUSE_METRICS_NAMESPACE } from '../../lib/monitoring/gateway-monitoring';
import type { GatewayAlarmThresholds } from '../../lib/monitoring/gateway-monitoring';
import { acknowledgements, awsSolutionsFindings, projectApp } from '../support/cdk';
import { monitoredFixture } from './fixture';

function synth(options: { thresholds?: GatewayAlarmThresholds; topic?: boolean } = {}) {
  const app = projectApp({ bundle: false });
  const { stack, props } = monitoredFixture(app);
  const topic = options.topic === true ? new sns.Topic(stack, 'OwnTopic') : undefined;
  const monitoring = new GatewayMonitoring(stack, 'Monitoring', {
    ...props,
    ...(options.thresholds !== undefined && { thresholds: options.thresholds }),
    ...(topic !== undefined && { alarmTopic: topic }),
  });
  return { stack, monitoring, template: Template.fromStack(stack) };
}

/** The alarm named `<stack>-<suffix>`, its properties. */
function alarm(template: Template, suffix: string): Record<string, unknown> {
  const found = Object.values(template.findResources('AWS::CloudWatch::Alarm', { Properties: { AlarmName: `Fixture-${suffix}` } }));
  expect(found).toHaveLength(1);
  return found[0].Properties as Record<string, unknown>;
}

/** The metric ids and names an alarm reads, as `Namespace/MetricName`. */
function metricsOf(properties: Record<string, unknown>): string[] {
  if (typeof properties.MetricName === 'string') return [`${String(properties.Namespace)}/${properties.MetricName}`];
  const metrics = properties.Metrics as { MetricStat?: { Metric: { Namespace: string; MetricName: string } } }[];
  return metrics
    .filter((entry) => entry.MetricStat !== undefined)
    .map((entry) => `${entry.MetricStat!.Metric.Namespace}/${entry.MetricStat!.Metric.MetricName}`);
}

const EXPECTED_ALARMS: readonly [suffix: string, threshold: number, metrics: readonly string[]][] = [
  ['Api-Fault-Rate-Critical', DEFAULT_ALARM_THRESHOLDS.api5xxRatePercent / 100, ['AWS/ApiGateway/5XXError']],
  ['Api-Latency-P99-Warning', DEFAULT_ALARM_THRESHOLDS.apiLatencyP99.toMilliseconds(), ['AWS/ApiGateway/Latency']],
  ['Api-Error-Rate-Warning', DEFAULT_ALARM_THRESHOLDS.api4xxRatePercent / 100, ['AWS/ApiGateway/4XXError']],
  ['Api429-Rate-Warning', DEFAULT_ALARM_THRESHOLDS.api429RatePercent, [`${GATEHOUSE_METRICS_NAMESPACE}/ThrottledRequests`, 'AWS/ApiGateway/Count']],
  ['Api429-Tier-basic-Warning', DEFAULT_ALARM_THRESHOLDS.throttledRequestsPerTier, [`${GATEHOUSE_METRICS_NAMESPACE}/ThrottledRequestsByApiKey`]],
  ['Api429-Tier-pro-Warning', DEFAULT_ALARM_THRESHOLDS.throttledRequestsPerTier, [`${GATEHOUSE_METRICS_NAMESPACE}/ThrottledRequestsByApiKey`]],
  ['Authorizer-Fault-Rate-Warning', DEFAULT_ALARM_THRESHOLDS.authorizerErrorRatePercent / 100, ['AWS/Lambda/Errors']],
  ['Authorizer-Throttled-Count-Critical', DEFAULT_ALARM_THRESHOLDS.authorizerThrottles, ['AWS/Lambda/Throttles']],
  ['Authorizer-JwksUnavailable-Critical', DEFAULT_ALARM_THRESHOLDS.jwksUnavailable, [`${GATEHOUSE_METRICS_NAMESPACE}/JwksUnavailable`]],
  ...['product', 'order'].flatMap((service): [string, number, string[]][] => [
    [`Service-${service}-CPU-Usage-Warning`, DEFAULT_ALARM_THRESHOLDS.serviceCpuPercent, ['AWS/ECS/CPUUtilization']],
    [`Service-${service}-Memory-Usage-Warning`, DEFAULT_ALARM_THRESHOLDS.serviceMemoryPercent, ['AWS/ECS/MemoryUtilization']],
    [
      `Service-${service}-MissingTasks-Critical`,
      DEFAULT_ALARM_THRESHOLDS.missingTasks,
      ['ECS/ContainerInsights/DesiredTaskCount', 'ECS/ContainerInsights/RunningTaskCount'],
    ],
    [`Service-${service}-UnhealthyTargets-Critical`, DEFAULT_ALARM_THRESHOLDS.unhealthyTargets, ['AWS/ApplicationELB/UnHealthyHostCount']],
    [
      `Service-${service}-DependencyUnavailable-Critical`,
      DEFAULT_ALARM_THRESHOLDS.dependencyUnavailable,
      [`${GATEHOUSE_METRICS_NAMESPACE}/DependencyUnavailable`],
    ],
  ]),
  ...['products', 'orders'].flatMap((table): [string, number, string[]][] => [
    [`Table-${table}-Read-Throttled-Events-Warning`, DEFAULT_ALARM_THRESHOLDS.tableThrottledRequests, ['AWS/DynamoDB/ReadThrottleEvents']],
    [`Table-${table}-Write-Throttled-Events-Warning`, DEFAULT_ALARM_THRESHOLDS.tableThrottledRequests, ['AWS/DynamoDB/WriteThrottleEvents']],
    [`Table-${table}-SystemError-Count-Critical`, DEFAULT_ALARM_THRESHOLDS.tableSystemErrors, ['AWS/DynamoDB/SystemErrors']],
  ]),
];

describe('GatewayMonitoring with its defaults', () => {
  const { template, monitoring } = synth();

  it.each(EXPECTED_ALARMS)('alarms %s above %d, on %j, to the topic and back', (suffix, threshold, metrics) => {
    const properties = alarm(template, suffix);
    expect(properties.Threshold).toBe(threshold);
    expect(metricsOf(properties)).toEqual(expect.arrayContaining([...metrics]));
    expect(properties.ActionsEnabled).toBe(true);
    const topicRef = { Ref: expect.stringMatching(/^MonitoringAlarmTopic/) };
    expect(properties.AlarmActions).toEqual([topicRef]);
    expect(properties.OKActions).toEqual([topicRef]);
  });

  it('makes no alarm beyond those listed', () => {
    expect(Object.keys(template.findResources('AWS::CloudWatch::Alarm'))).toHaveLength(EXPECTED_ALARMS.length);
  });

  it('fires on 2 of the last 3 five-minute periods; missing tasks only after 3 in a row', () => {
    for (const [suffix] of EXPECTED_ALARMS) {
      const properties = alarm(template, suffix);
      const missingTasks = suffix.endsWith('MissingTasks-Critical');
      expect({ suffix, datapoints: properties.DatapointsToAlarm, periods: properties.EvaluationPeriods }).toEqual({
        suffix,
        datapoints: missingTasks ? 3 : 2,
        periods: 3,
      });
    }
    expect(alarm(template, 'Api-Fault-Rate-Critical').Metrics).toEqual([
      expect.objectContaining({ MetricStat: expect.objectContaining({ Period: 300, Stat: 'Average' }) }),
    ]);
    expect(alarm(template, 'Api-Latency-P99-Warning').Metrics).toEqual([expect.objectContaining({ MetricStat: expect.objectContaining({ Stat: 'p99' }) })]);
  });

  it('computes the 429 rate as a percentage of all requests of the stage', () => {
    const metrics = alarm(template, 'Api429-Rate-Warning').Metrics as { Expression?: string; Id: string; MetricStat?: { Metric: { Dimensions?: unknown } } }[];
    expect(metrics.find((entry) => entry.Expression !== undefined)?.Expression).toBe('IF(requests > 0, 100 * throttled / requests, 0)');
    expect(metrics.find((entry) => entry.Id === 'requests')?.MetricStat?.Metric.Dimensions).toEqual(
      expect.arrayContaining([{ Name: 'Stage', Value: expect.anything() }]),
    );
  });

  it('counts the 429s of each tier by its API key id, and DEPENDENCY_UNAVAILABLE by service', () => {
    const basic = alarm(template, 'Api429-Tier-basic-Warning');
    expect(basic.Metrics).toEqual([
      expect.objectContaining({
        MetricStat: expect.objectContaining({
          Metric: expect.objectContaining({ Dimensions: [{ Name: 'ApiKeyId', Value: { Ref: expect.stringMatching(/^ApiBasicKey/) } }] }),
        }),
      }),
    ]);
    expect(alarm(template, 'Service-order-DependencyUnavailable-Critical').Dimensions).toEqual([{ Name: 'Service', Value: 'order' }]);
    expect(alarm(template, 'Service-product-DependencyUnavailable-Critical').Dimensions).toEqual([{ Name: 'Service', Value: 'product' }]);
  });

  it('treats no log line as no problem, so an alarm that fired returns to OK', () => {
    for (const suffix of [
      'Api429-Tier-pro-Warning',
      'Authorizer-JwksUnavailable-Critical',
      'Service-order-DependencyUnavailable-Critical',
      'Service-order-UnhealthyTargets-Critical',
    ]) {
      expect(alarm(template, suffix).TreatMissingData).toBe('notBreaching');
    }
  });

  it('counts JWKS_UNAVAILABLE, DEPENDENCY_UNAVAILABLE and 429 lines with JSON metric filters', () => {
    template.resourceCountIs('AWS::Logs::MetricFilter', 5);
    const filter = (logGroup: RegExp, pattern: string, transformation: Record<string, unknown>) =>
      template.hasResourceProperties('AWS::Logs::MetricFilter', {
        LogGroupName: { Ref: Match.stringLikeRegexp(logGroup.source) },
        FilterPattern: pattern,
        MetricTransformations: [{ MetricNamespace: GATEHOUSE_METRICS_NAMESPACE, MetricValue: '1', Unit: 'Count', ...transformation }],
      });
    filter(/^AuthorizerLogs/, '{ $.code = "JWKS_UNAVAILABLE" }', { MetricName: 'JwksUnavailable', DefaultValue: 0 });
    filter(/^orderLogs/, '{ $.code = "DEPENDENCY_UNAVAILABLE" }', {
      MetricName: 'DependencyUnavailable',
      Dimensions: [{ Key: 'Service', Value: '$.service' }],
    });
    filter(/^productLogs/, '{ $.code = "DEPENDENCY_UNAVAILABLE" }', {
      MetricName: 'DependencyUnavailable',
      Dimensions: [{ Key: 'Service', Value: '$.service' }],
    });
    filter(/^AccessLogs/, '{ $.status = "429" }', { MetricName: 'ThrottledRequests', DefaultValue: 0 });
    filter(/^AccessLogs/, '{ $.status = "429" }', { MetricName: 'ThrottledRequestsByApiKey', Dimensions: [{ Key: 'ApiKeyId', Value: '$.apiKeyId' }] });
    expect(Object.keys(monitoring.metricFilters).sort()).toEqual([
      'DependencyUnavailableOrder',
      'DependencyUnavailableProduct',
      'JwksUnavailable',
      'Throttled',
      'ThrottledByApiKey',
    ]);
  });

  it('sends alarms to a topic encrypted with a rotating key that CloudWatch may use, over TLS only', () => {
    template.resourceCountIs('AWS::SNS::Topic', 1);
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^MonitoringAlarmTopicKey'), 'Arn'] } });
    template.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
            Condition: { StringEquals: { 'aws:SourceAccount': '123456789012' } },
          }),
        ]),
      },
    });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          Match.objectLike({ Action: 'sns:Publish', Effect: 'Allow', Principal: { Service: 'cloudwatch.amazonaws.com' } }),
        ]),
      },
    });
  });

  it('draws one dashboard, its sections in the order of the request path: edge, authorizer, services, tables', () => {
    const dashboards = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
    expect(dashboards).toHaveLength(1);
    const body = JSON.stringify(dashboards[0].Properties.DashboardBody);
    // Each title is looked for after the one before it: the sections must come in this order.
    let from = 0;
    for (const text of [
      '# 1. Edge: API Gateway',
      '429 answers per usage plan tier',
      '# 2. Authorizer',
      'JWKS_UNAVAILABLE',
      '# 3. Services',
      'Service product',
      'Unhealthy ALB targets',
      'DEPENDENCY_UNAVAILABLE answers',
      'Service order',
      'Unhealthy ALB targets',
      'DEPENDENCY_UNAVAILABLE answers',
      '# 4. Tables',
      'Table products',
      'Table orders',
    ]) {
      const index = body.indexOf(text, from);
      expect({ text, after: from, found: index >= 0 }).toEqual({ text, after: from, found: true });
      from = index + text.length;
    }
    expect(monitoring.dashboard).toBeDefined();
  });

  it('passes the AwsSolutions checks for everything it makes', () => {
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-monitoring-'));
    try {
      const app = projectApp({ bundle: false, outdir });
      const { stack, props } = monitoredFixture(app);
      const made = new GatewayMonitoring(stack, 'Monitoring', props);
      // The fixture's API, VPC and ALB are plain test doubles with findings of their own; the monitoring's must be none.
      expect(awsSolutionsFindings(app, outdir).filter((finding) => finding.includes('/Monitoring/'))).toEqual([]);
      expect(made.node.findAll().length).toBeGreaterThan(10);
      expect(acknowledgements(made)).toEqual([]);
    } finally {
      fs.rmSync(outdir, { recursive: true, force: true });
    }
  });
});

describe('GatewayMonitoring thresholds', () => {
  it('takes each threshold from its prop', () => {
    const { template } = synth({
      thresholds: {
        api5xxRatePercent: 2,
        apiLatencyP99: Duration.millis(1500),
        api4xxRatePercent: 20,
        api429RatePercent: 7,
        throttledRequestsPerTier: 30,
        authorizerErrorRatePercent: 40,
        authorizerThrottles: 3,
        jwksUnavailable: 4,
        serviceCpuPercent: 70,
        serviceMemoryPercent: 75,
        missingTasks: 2,
        unhealthyTargets: 2,
        tableThrottledRequests: 50,
        tableSystemErrors: 1,
        dependencyUnavailable: 9,
      },
    });
    const expected: Record<string, number> = {
      'Api-Fault-Rate-Critical': 0.02,
      'Api-Latency-P99-Warning': 1500,
      'Api-Error-Rate-Warning': 0.2,
      'Api429-Rate-Warning': 7,
      'Api429-Tier-pro-Warning': 30,
      'Authorizer-Fault-Rate-Warning': 0.4,
      'Authorizer-Throttled-Count-Critical': 3,
      'Authorizer-JwksUnavailable-Critical': 4,
      'Service-order-CPU-Usage-Warning': 70,
      'Service-order-Memory-Usage-Warning': 75,
      'Service-order-MissingTasks-Critical': 2,
      'Service-order-UnhealthyTargets-Critical': 2,
      'Service-order-DependencyUnavailable-Critical': 9,
      'Table-orders-Read-Throttled-Events-Warning': 50,
      'Table-orders-Write-Throttled-Events-Warning': 50,
      'Table-orders-SystemError-Count-Critical': 1,
    };
    for (const [suffix, threshold] of Object.entries(expected)) expect({ suffix, threshold: alarm(template, suffix).Threshold }).toEqual({ suffix, threshold });
  });

  it('keeps the defaults of the thresholds not given', () => {
    const { template } = synth({ thresholds: { api5xxRatePercent: 5 } });
    expect(alarm(template, 'Api-Fault-Rate-Critical').Threshold).toBe(0.05);
    expect(alarm(template, 'Service-order-CPU-Usage-Warning').Threshold).toBe(DEFAULT_ALARM_THRESHOLDS.serviceCpuPercent);
  });

  it.each([
    [{ api5xxRatePercent: 101 }, /thresholds.api5xxRatePercent must be a percentage from 0 to 100, got 101/],
    [{ serviceCpuPercent: -1 }, /thresholds.serviceCpuPercent must be a percentage from 0 to 100, got -1/],
    [{ missingTasks: 0.5 }, /thresholds.missingTasks must be a whole number >= 0, got 0.5/],
    [{ apiLatencyP99: Duration.seconds(30) }, /thresholds.apiLatencyP99 must be more than 0 and at most 29 seconds .*got 30000 ms/],
  ])('rejects %j', (thresholds, message) => {
    expect(() => synth({ thresholds })).toThrow(message);
  });
});

describe('GatewayMonitoring names', () => {
  it('prefix alarms and the dashboard with namePrefix instead of the stack name', () => {
    const app = projectApp({ bundle: false });
    const { stack, props } = monitoredFixture(app);
    new GatewayMonitoring(stack, 'Monitoring', { ...props, namePrefix: 'shop-prod' });
    const template = Template.fromStack(stack);
    const names = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((entry) => entry.Properties.AlarmName as string);
    expect(names.length).toBe(EXPECTED_ALARMS.length);
    expect(names.every((name) => name.startsWith('shop-prod-'))).toBe(true);
    template.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: 'shop-prod' });
  });
});

describe('GatewayMonitoring with a topic of your own', () => {
  it('sends to it and makes no topic or key', () => {
    const { template } = synth({ topic: true });
    template.resourceCountIs('AWS::SNS::Topic', 1);
    template.resourceCountIs('AWS::KMS::Key', 0);
    expect(alarm(template, 'Api-Fault-Rate-Critical').AlarmActions).toEqual([{ Ref: expect.stringMatching(/^OwnTopic/) }]);
  });
});

describe('GatewayMonitoring with only an API', () => {
  it('alarms on the API alone and draws only its section', () => {
    const app = projectApp({ bundle: false });
    const { stack, props } = monitoredFixture(app);
    new GatewayMonitoring(stack, 'Monitoring', { api: props.api });
    const template = Template.fromStack(stack);
    expect(
      Object.values(template.findResources('AWS::CloudWatch::Alarm'))
        .map((entry) => entry.Properties.AlarmName)
        .sort(),
    ).toEqual(['Fixture-Api-Error-Rate-Warning', 'Fixture-Api-Fault-Rate-Critical', 'Fixture-Api-Latency-P99-Warning']);
    template.resourceCountIs('AWS::Logs::MetricFilter', 0);
  });

  it('rejects a monitored name that cannot be part of an alarm name', () => {
    const app = projectApp({ bundle: false });
    const { stack, props } = monitoredFixture(app);
    expect(() => new GatewayMonitoring(stack, 'Monitoring', { ...props, tables: [{ name: 'my table', table: props.tables![0].table }] })).toThrow(
      /monitored name must be 1 to 64 letters, digits or hyphens, got "my table"/,
    );
  });
});
