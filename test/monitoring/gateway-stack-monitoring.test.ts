/**
 * GatewayStack's monitoring: on by default over the stack's own API, authorizer, services and tables,
 * configurable through the `monitoring` setting, off on request, and cdk-nag clean in the whole stack.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { CfnElement } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { readGatehouseConfig } from '../../lib/config';
import { GatewayStack } from '../../lib/gateway-stack';
import { awsSolutionsFindings, projectApp } from '../support/cdk';

const ISSUERS = [{ issuer: 'https://issuer.example.com', audience: 'api' }];

function synth(monitoring?: unknown, outdir?: string) {
  const app = projectApp({ bundle: false, ...(outdir !== undefined && { outdir }) });
  const stack = new GatewayStack(app, 'Gatehouse', {
    config: readGatehouseConfig({ issuers: ISSUERS, ...(monitoring !== undefined && { monitoring }) }),
    env: { account: '123456789012', region: 'eu-west-1' },
  });
  return { app, stack };
}

const alarmNames = (template: Template): string[] =>
  Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((alarm) => alarm.Properties.AlarmName as string);

describe('GatewayStack monitoring, by default', () => {
  const { stack } = synth();
  const template = Template.fromStack(stack);

  it('watches the stack API, its authorizer, both services and the three tables', () => {
    const names = alarmNames(template);
    for (const expected of [
      'Gatehouse-Api-Fault-Rate-Critical',
      'Gatehouse-Api-Latency-P99-Warning',
      'Gatehouse-Api429-Rate-Warning',
      'Gatehouse-Authorizer-JwksUnavailable-Critical',
      'Gatehouse-Authorizer-Throttled-Count-Critical',
      'Gatehouse-Service-product-MissingTasks-Critical',
      'Gatehouse-Service-order-UnhealthyTargets-Critical',
      'Gatehouse-Service-order-DependencyUnavailable-Critical',
      'Gatehouse-Table-products-SystemError-Count-Critical',
      'Gatehouse-Table-orders-Write-Throttled-Events-Warning',
      'Gatehouse-Table-orders-Read-Throttled-Events-Warning',
    ]) {
      expect(names).toContain(expected);
    }
    // One 429 alarm per usage plan tier, on the tier's API key.
    const tiers = Object.keys(stack.gateway.apiKeys);
    expect(tiers.length).toBeGreaterThan(0);
    for (const tier of tiers) expect(names).toContain(`Gatehouse-Api429-Tier-${tier}-Warning`);
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    expect(stack.monitoring).toBeDefined();
    template.hasOutput('AlarmTopicArn', { Value: { Ref: stack.getLogicalId(stack.monitoring!.alarmTopic.node.defaultChild as CfnElement) } });
  });

  it("puts the metric filters on the stack's own log groups", () => {
    const logGroupOf = (metricName: string) =>
      Object.values(template.findResources('AWS::Logs::MetricFilter'))
        .filter((filter) => (filter.Properties.MetricTransformations as { MetricName: string }[])[0].MetricName === metricName)
        .map((filter) => (filter.Properties.LogGroupName as { Ref: string }).Ref);
    const ref = (construct: { node: { defaultChild?: unknown } }) => stack.resolve((construct.node.defaultChild as { ref: string }).ref) as { Ref: string };
    expect(logGroupOf('JwksUnavailable')).toEqual([ref(stack.jwtAuthorizer.logGroup).Ref]);
    expect(logGroupOf('ThrottledRequests')).toEqual([ref(stack.gateway.accessLogs).Ref]);
    expect(logGroupOf('DependencyUnavailable').sort()).toEqual([ref(stack.productService.logGroup).Ref, ref(stack.orderService.logGroup).Ref].sort());
  });

  it('passes the AwsSolutions checks (every finding under the monitoring)', () => {
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-stack-monitoring-'));
    try {
      const { app } = synth(undefined, outdir);
      expect(awsSolutionsFindings(app, outdir).filter((finding) => finding.includes('/Monitoring/'))).toEqual([]);
    } finally {
      fs.rmSync(outdir, { recursive: true, force: true });
    }
  });
});

describe('GatewayStack monitoring settings', () => {
  it('are off with enabled: false: no alarm, no dashboard, no topic', () => {
    const { stack } = synth({ enabled: false });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::CloudWatch::Alarm', 0);
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 0);
    template.resourceCountIs('AWS::SNS::Topic', 0);
    expect(stack.monitoring).toBeUndefined();
    expect(Object.keys(template.findOutputs('AlarmTopicArn'))).toEqual([]);
  });

  it('send to the topic named by alarmTopicArn, and take thresholds, the latency in milliseconds', () => {
    const arn = 'arn:aws:sns:eu-west-1:123456789012:on-call';
    const template = Template.fromStack(synth({ alarmTopicArn: arn, thresholds: { apiLatencyP99Ms: 800, serviceCpuPercent: 65 } }).stack);
    template.resourceCountIs('AWS::SNS::Topic', 0);
    template.hasOutput('AlarmTopicArn', { Value: arn });
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((alarm) => alarm.Properties);
    expect(alarms.every((alarm) => JSON.stringify(alarm.AlarmActions) === JSON.stringify([arn]))).toBe(true);
    expect(alarms.find((alarm) => alarm.AlarmName === 'Gatehouse-Api-Latency-P99-Warning')?.Threshold).toBe(800);
    expect(alarms.find((alarm) => alarm.AlarmName === 'Gatehouse-Service-order-CPU-Usage-Warning')?.Threshold).toBe(65);
  });

  it.each([
    [{ enabled: 'no' }, /monitoring.enabled must be true or false, got "no"/],
    [{ alarmTopicArn: 'on-call' }, /monitoring.alarmTopicArn must be an SNS topic ARN .*got "on-call"/],
    [{ thresholds: { latency: 3 } }, /monitoring.thresholds.latency is not a threshold; the thresholds are api5xxRatePercent, apiLatencyP99Ms/],
    [{ thresholds: { serviceCpuPercent: '80' } }, /monitoring.thresholds.serviceCpuPercent must be a number, got "80"/],
    [{ alarms: true }, /monitoring.alarms is not a setting/],
  ])('refuse %j, naming the setting', (monitoring, message) => {
    expect(() => readGatehouseConfig({ issuers: ISSUERS, monitoring })).toThrow(message);
  });

  it('refuse a threshold out of range at synth, naming it', () => {
    expect(() => synth({ thresholds: { api5xxRatePercent: 150 } })).toThrow(/thresholds.api5xxRatePercent must be a percentage from 0 to 100, got 150/);
  });
});
