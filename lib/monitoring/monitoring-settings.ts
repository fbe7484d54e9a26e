/**
 * The `monitoring` key of the app's configuration (cdk.json), and its check. Pure: the CDK app reads
 * it before anything is built; `GatewayMonitoring.optionsFromSettings` turns it into props.
 */
import type { GatewayAlarmThresholds } from './gateway-monitoring';

/** Alarm thresholds as configured: the same as GatewayAlarmThresholds, with the latency in milliseconds. */
export type MonitoringThresholdSettings = Omit<GatewayAlarmThresholds, 'apiLatencyP99'> & {
  /**
   * p99 of API Gateway's Latency, in milliseconds.
   * @default - 2000
   */
  readonly apiLatencyP99Ms?: number;
};

/** Monitoring settings of the app. */
export interface MonitoringSettings {
  /**
   * Whether the stack has alarms and a dashboard.
   * @default - true
   */
  readonly enabled?: boolean;
  /**
   * An SNS topic of your own for the alarms (it must let CloudWatch publish, and use its key if encrypted).
   * @default - a new topic, encrypted with a new KMS key
   */
  readonly alarmTopicArn?: string;
  /**
   * Alarm thresholds; each one left out keeps its default (see README, "Operations").
   * @default - DEFAULT_ALARM_THRESHOLDS
   */
  readonly thresholds?: MonitoringThresholdSettings;
}

/** The threshold settings, each a number. */
export const MONITORING_THRESHOLD_SETTINGS = [
  'api5xxRatePercent',
  'apiLatencyP99Ms',
  'api4xxRatePercent',
  'api429RatePercent',
  'throttledRequestsPerTier',
  'authorizerErrorRatePercent',
  'authorizerThrottles',
  'jwksUnavailable',
  'serviceCpuPercent',
  'serviceMemoryPercent',
  'missingTasks',
  'unhealthyTargets',
  'tableThrottledRequests',
  'tableSystemErrors',
  'dependencyUnavailable',
] as const satisfies readonly (keyof MonitoringThresholdSettings)[];

/**
 * Checks the shape of the `monitoring` setting; `where` names the setting's place in messages.
 * Ranges are checked by GatewayMonitoring.
 */
export function assertMonitoringSettings(value: unknown, where: string): asserts value is MonitoringSettings | undefined {
  if (value === undefined) return;
  if (!isRecord(value)) throw new Error(`${where}: monitoring must be an object`);
  const known = new Set(['enabled', 'alarmTopicArn', 'thresholds']);
  for (const key of Object.keys(value))
    if (!known.has(key)) throw new Error(`${where}: monitoring.${key} is not a setting; the settings are ${[...known].join(', ')}`);
  if (value.enabled !== undefined && typeof value.enabled !== 'boolean')
    throw new Error(`${where}: monitoring.enabled must be true or false, got ${JSON.stringify(value.enabled)}`);
  if (
    value.alarmTopicArn !== undefined &&
    !(typeof value.alarmTopicArn === 'string' && /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_.-]{1,256}$/.test(value.alarmTopicArn))
  ) {
    throw new Error(
      `${where}: monitoring.alarmTopicArn must be an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>), got ${JSON.stringify(value.alarmTopicArn)}`,
    );
  }
  const { thresholds } = value;
  if (thresholds === undefined) return;
  if (!isRecord(thresholds)) throw new Error(`${where}: monitoring.thresholds must be an object`);
  const names = new Set<string>(MONITORING_THRESHOLD_SETTINGS);
  for (const [key, entry] of Object.entries(thresholds)) {
    if (!names.has(key))
      throw new Error(`${where}: monitoring.thresholds.${key} is not a threshold; the thresholds are ${MONITORING_THRESHOLD_SETTINGS.join(', ')}`);
    if (typeof entry !== 'number') throw new Error(`${where}: monitoring.thresholds.${key} must be a number, got ${JSON.stringify(entry)}`);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
