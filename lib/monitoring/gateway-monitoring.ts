import { Duration, Names, Stack } from 'aws-cdk-lib';
import type * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import type * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import { DefaultDashboardFactory, MonitoringFacade, SnsAlarmActionStrategy } from 'cdk-monitoring-constructs';
import type { CustomMetricGroup } from 'cdk-monitoring-constructs';
import { Construct } from 'constructs';
import type { MonitoringSettings } from './monitoring-settings';
import { DEPENDENCY_UNAVAILABLE_CODE, JWKS_UNAVAILABLE_CODE, jsonEqualsPattern, LOG_CODE_FIELD, SERVICE_LOG_FIELD } from './log-codes';

/** The CloudWatch namespace of the metrics that Gatehouse's metric filters publish. */
export const GATEHOUSE_METRICS_NAMESPACE = 'Gatehouse';

/** Alarm thresholds of {@link GatewayMonitoring}. Each alarm looks at 5-minute periods and fires on 2 of the last 3. */
export interface GatewayAlarmThresholds {
  /**
   * Share of API requests answered 5XX (by API Gateway or a service), in percent.
   * @default - 1 (percent)
   */
  readonly api5xxRatePercent?: number;
  /**
   * p99 of API Gateway's Latency (from request to response, authorizer and integration included).
   * @default - Duration.seconds(2)
   */
  readonly apiLatencyP99?: Duration;
  /**
   * Share of API requests answered 4XX (401, 403, 404, 400, 429 alike), in percent.
   * @default - 10 (percent)
   */
  readonly api4xxRatePercent?: number;
  /**
   * Share of API requests answered 429 (stage, route, usage plan throttles and quotas), in percent.
   * @default - 5 (percent)
   */
  readonly api429RatePercent?: number;
  /**
   * Requests of one usage plan tier (its API key) answered 429 in 5 minutes.
   * @default - 100 (requests)
   */
  readonly throttledRequestsPerTier?: number;
  /**
   * Share of authorizer invocations that failed, in percent. A rejected token is a failed invocation
   * too (API Gateway's contract for a 401 is a thrown "Unauthorized"), so this is set well above zero.
   * @default - 25 (percent)
   */
  readonly authorizerErrorRatePercent?: number;
  /**
   * Throttled authorizer invocations in 5 minutes: each one is a request API Gateway answered 500.
   * @default - 0 (any throttle alarms)
   */
  readonly authorizerThrottles?: number;
  /**
   * Authorizer log lines with code JWKS_UNAVAILABLE in 5 minutes: requests that failed closed because
   * an issuer's keys could not be fetched.
   * @default - 0 (any alarms)
   */
  readonly jwksUnavailable?: number;
  /**
   * Average CPU use of a service, in percent of what its tasks reserve.
   * @default - 80 (percent)
   */
  readonly serviceCpuPercent?: number;
  /**
   * Average memory use of a service, in percent of what its tasks reserve.
   * @default - 80 (percent)
   */
  readonly serviceMemoryPercent?: number;
  /**
   * Tasks a service is short of its desired count (desired minus running), held for three periods in a row.
   * @default - 1 (task)
   */
  readonly missingTasks?: number;
  /**
   * Targets of a service's ALB target group that fail their health check (maximum over the period).
   * @default - 1 (target)
   */
  readonly unhealthyTargets?: number;
  /**
   * Read or write requests DynamoDB throttled on one table in 5 minutes (each counted separately).
   * @default - 10 (requests)
   */
  readonly tableThrottledRequests?: number;
  /**
   * DynamoDB system errors (HTTP 500 from DynamoDB) on one table in 5 minutes.
   * @default - 0 (any alarms)
   */
  readonly tableSystemErrors?: number;
  /**
   * A service's answers with code DEPENDENCY_UNAVAILABLE (503) in 5 minutes.
   * @default - 5 (answers)
   */
  readonly dependencyUnavailable?: number;
}

/** The default of each threshold, in the units its prop documents. */
export const DEFAULT_ALARM_THRESHOLDS = {
  api5xxRatePercent: 1,
  apiLatencyP99: Duration.seconds(2),
  api4xxRatePercent: 10,
  api429RatePercent: 5,
  throttledRequestsPerTier: 100,
  authorizerErrorRatePercent: 25,
  authorizerThrottles: 0,
  jwksUnavailable: 0,
  serviceCpuPercent: 80,
  serviceMemoryPercent: 80,
  missingTasks: 1,
  unhealthyTargets: 1,
  tableThrottledRequests: 10,
  tableSystemErrors: 0,
  dependencyUnavailable: 5,
} as const satisfies Required<GatewayAlarmThresholds>;

/** One service to watch. */
export interface MonitoredService {
  /**
   * The service's name (letters, digits, hyphens): in alarm names, on the dashboard, and the `service`
   * field of its log lines, which the DEPENDENCY_UNAVAILABLE metric is split by.
   */
  readonly name: string;
  /** The Fargate service. Its cluster needs Container Insights for the task-count alarm. */
  readonly service: ecs.FargateService;
  /**
   * The service's target group on the ALB, for the unhealthy-targets alarm.
   * @default - no target health alarm
   */
  readonly targetGroup?: elbv2.IApplicationTargetGroup;
  /**
   * The service's log group (JSON lines from services/common/server.ts), for the DEPENDENCY_UNAVAILABLE alarm.
   * @default - no DEPENDENCY_UNAVAILABLE alarm for this service
   */
  readonly logGroup?: logs.ILogGroup;
}

/** A DynamoDB table to watch. */
export interface MonitoredTable {
  /** The table's name in alarm names and on the dashboard (letters, digits, hyphens). */
  readonly name: string;
  /** The table. */
  readonly table: dynamodb.ITable;
}

/** Props of {@link GatewayMonitoring}. */
export interface GatewayMonitoringProps {
  /** The REST API (edge of the request path). */
  readonly api: apigateway.IRestApi;
  /**
   * The stage whose metrics to watch.
   * @default - the API's deployment stage
   */
  readonly stageName?: string;
  /**
   * The stage's access log group (the JSON format of MicroservicesGateway, with `status` and
   * `apiKeyId`), for the 429 alarms. API Gateway publishes no metric per usage plan or API key, so
   * the access log is the one place a 429 can be tied to a tier.
   * @default - no 429 alarms
   */
  readonly accessLogs?: logs.ILogGroup;
  /**
   * API keys by tier name: one 429 alarm per tier, on the access log's `apiKeyId`.
   * @default - no per-tier 429 alarm
   */
  readonly apiKeys?: Readonly<Record<string, apigateway.IApiKey>>;
  /**
   * The authorizer function.
   * @default - no authorizer alarms
   */
  readonly authorizerFunction?: lambda.IFunction;
  /**
   * The authorizer's log group (JSON lines from lambda/authorizer/logger.ts), for the JWKS_UNAVAILABLE alarm.
   * @default - no JWKS_UNAVAILABLE alarm
   */
  readonly authorizerLogGroup?: logs.ILogGroup;
  /**
   * The services behind the gateway.
   * @default - none
   */
  readonly services?: readonly MonitoredService[];
  /**
   * The services' tables.
   * @default - none
   */
  readonly tables?: readonly MonitoredTable[];
  /**
   * Where alarms (and their return to OK) are sent. A topic of your own must let CloudWatch publish,
   * and, if encrypted, let CloudWatch use its key.
   * @default - a new topic, encrypted with a new customer managed KMS key that CloudWatch may use
   */
  readonly alarmTopic?: sns.ITopic;
  /**
   * Alarm thresholds.
   * @default - DEFAULT_ALARM_THRESHOLDS
   */
  readonly thresholds?: GatewayAlarmThresholds;
  /**
   * Prefix of alarm and dashboard names: alarm names are unique per account and region.
   * @default - the stack name
   */
  readonly namePrefix?: string;
}

const PERIOD = Duration.minutes(5);
const SERVICE_DIMENSION = 'Service';
const NAME = /^[A-Za-z0-9-]{1,64}$/;

/**
 * Alarms and one dashboard for a Gatehouse deployment, along the request path: the REST API, the
 * authorizer, the services and their load balancer targets, the tables. Built on
 * cdk-monitoring-constructs; alarm actions go to one SNS topic. Metric filters on the access, the
 * authorizer's and the services' logs count what no AWS metric does (429s per tier,
 * JWKS_UNAVAILABLE, DEPENDENCY_UNAVAILABLE).
 */
export class GatewayMonitoring extends Construct {
  /**
   * The props that the app's `monitoring` setting (cdk.json) stands for: the topic it names, imported
   * into `scope`, and the thresholds, the latency turned from milliseconds into a Duration.
   */
  static optionsFromSettings(scope: Construct, settings: MonitoringSettings = {}): Pick<GatewayMonitoringProps, 'alarmTopic' | 'thresholds'> {
    const { apiLatencyP99Ms, ...thresholds } = settings.thresholds ?? {};
    return {
      ...(settings.alarmTopicArn !== undefined && { alarmTopic: sns.Topic.fromTopicArn(scope, 'AlarmTopic', settings.alarmTopicArn) }),
      thresholds: { ...thresholds, ...(apiLatencyP99Ms !== undefined && { apiLatencyP99: Duration.millis(apiLatencyP99Ms) }) },
    };
  }

  /** The topic alarms are sent to. */
  public readonly alarmTopic: sns.ITopic;
  /** The dashboard. */
  public readonly dashboard: cloudwatch.Dashboard;
  /** The monitoring facade: add more monitored resources with its `monitor…` methods. */
  public readonly facade: MonitoringFacade;
  /** The metric filters made, by what they count. */
  public readonly metricFilters: Readonly<Record<string, logs.MetricFilter>>;

  private readonly thresholds: Required<GatewayAlarmThresholds>;
  private readonly filters: Record<string, logs.MetricFilter> = {};

  constructor(scope: Construct, id: string, props: GatewayMonitoringProps) {
    super(scope, id);
    this.thresholds = { ...DEFAULT_ALARM_THRESHOLDS, ...definedOnly(props.thresholds ?? {}) };
    validateThresholds(this.thresholds);
    for (const item of [...(props.services ?? []), ...(props.tables ?? [])]) {
      if (!NAME.test(item.name)) throw new Error(`monitored name must be 1 to 64 letters, digits or hyphens, got ${JSON.stringify(item.name)}`);
    }
    const prefix = props.namePrefix ?? Stack.of(this).stackName;

    this.alarmTopic = props.alarmTopic ?? this.createTopic();
    const dashboards = new DefaultDashboardFactory(this, 'Dashboards', {
      dashboardNamePrefix: prefix,
      createDashboard: true,
      createSummaryDashboard: false,
      createAlarmDashboard: false,
    });
    this.facade = new MonitoringFacade(this, 'Facade', {
      metricFactoryDefaults: { period: PERIOD },
      alarmFactoryDefaults: {
        alarmNamePrefix: prefix,
        actionsEnabled: true,
        action: new SnsAlarmActionStrategy({ onAlarmTopic: this.alarmTopic, onOkTopic: this.alarmTopic }),
        datapointsToAlarm: 2,
        evaluationPeriods: 3,
      },
      dashboardFactory: dashboards,
    });

    this.monitorEdge(props);
    this.monitorAuthorizer(props);
    this.monitorServices(props.services ?? []);
    this.monitorTables(props.tables ?? []);

    const dashboard = dashboards.createdDashboard();
    if (dashboard === undefined) throw new Error('cdk-monitoring-constructs made no dashboard');
    this.dashboard = dashboard;
    this.metricFilters = this.filters;
  }

  /** API Gateway: 5XX and 4XX rates, p99 latency; 429s from the access log, in all and per tier. */
  private monitorEdge(props: GatewayMonitoringProps): void {
    const t = this.thresholds;
    this.facade.addLargeHeader('1. Edge: API Gateway');
    this.facade.monitorApiGateway({
      api: props.api,
      ...(props.stageName !== undefined && { apiStage: props.stageName }),
      alarmFriendlyName: 'Api',
      add5XXFaultRateAlarm: { Critical: { maxErrorRate: t.api5xxRatePercent / 100 } },
      add4XXErrorRateAlarm: { Warning: { maxErrorRate: t.api4xxRatePercent / 100 } },
      addLatencyP99Alarm: { Warning: { maxLatency: t.apiLatencyP99 } },
    });
    if (props.accessLogs === undefined) return;

    const throttled = this.countLines('Throttled', props.accessLogs, jsonEqualsPattern('status', '429'), 'ThrottledRequests').metric({
      statistic: 'Sum',
      period: PERIOD,
    });
    const requests = new cloudwatch.Metric({
      namespace: 'AWS/ApiGateway',
      metricName: 'Count',
      dimensionsMap: { ApiName: props.api.restApiName, Stage: props.stageName ?? props.api.deploymentStage.stageName },
      statistic: 'Sum',
      period: PERIOD,
    });
    const rate = new cloudwatch.MathExpression({
      expression: 'IF(requests > 0, 100 * throttled / requests, 0)',
      usingMetrics: { throttled, requests },
      label: '429 answers (% of requests)',
      period: PERIOD,
    });
    const groups: CustomMetricGroup[] = [
      {
        title: '429 answers (% of requests)',
        metrics: [{ metric: rate, alarmFriendlyName: 'Rate', addAlarm: { Warning: greaterThan(t.api429RatePercent) } }],
      },
    ];
    const tiers = Object.entries(props.apiKeys ?? {});
    if (tiers.length > 0) {
      // One metric per API key: the access log's apiKeyId becomes a dimension of the filter's metric.
      const byKey = this.countLines('ThrottledByApiKey', props.accessLogs, jsonEqualsPattern('status', '429'), 'ThrottledRequestsByApiKey', {
        ApiKeyId: '$.apiKeyId',
      });
      groups.push({
        title: '429 answers per usage plan tier',
        metrics: tiers.map(([tier, key]) => ({
          metric: byKey.metric({ dimensionsMap: { ApiKeyId: key.keyId }, statistic: 'Sum', period: PERIOD, label: tier }),
          alarmFriendlyName: `Tier-${tier}`,
          addAlarm: { Warning: greaterThan(t.throttledRequestsPerTier) },
        })),
      });
    }
    this.facade.monitorCustom({ alarmFriendlyName: 'Api429', humanReadableName: 'Throttling (429)', metricGroups: groups });
  }

  /** The authorizer Lambda: failures, throttles; JWKS_UNAVAILABLE from its log. */
  private monitorAuthorizer(props: GatewayMonitoringProps): void {
    if (props.authorizerFunction === undefined && props.authorizerLogGroup === undefined) return;
    const t = this.thresholds;
    this.facade.addLargeHeader('2. Authorizer');
    if (props.authorizerFunction !== undefined) {
      this.facade.monitorLambdaFunction({
        lambdaFunction: props.authorizerFunction,
        alarmFriendlyName: 'Authorizer',
        addFaultRateAlarm: { Warning: { maxErrorRate: t.authorizerErrorRatePercent / 100 } },
        addThrottlesCountAlarm: { Critical: { maxErrorCount: t.authorizerThrottles } },
      });
    }
    if (props.authorizerLogGroup !== undefined) {
      const jwks = this.countLines(
        'JwksUnavailable',
        props.authorizerLogGroup,
        jsonEqualsPattern(LOG_CODE_FIELD, JWKS_UNAVAILABLE_CODE),
        'JwksUnavailable',
      ).metric({
        statistic: 'Sum',
        period: PERIOD,
      });
      this.facade.monitorCustom({
        alarmFriendlyName: 'Authorizer',
        humanReadableName: 'Authorizer: JWKS unavailable',
        metricGroups: [
          {
            title: `${JWKS_UNAVAILABLE_CODE} (requests failed closed)`,
            metrics: [{ metric: jwks, alarmFriendlyName: 'JwksUnavailable', addAlarm: { Critical: greaterThan(t.jwksUnavailable) } }],
          },
        ],
      });
    }
  }

  /** Each service: CPU, memory, running vs desired tasks, unhealthy targets, DEPENDENCY_UNAVAILABLE answers. */
  private monitorServices(services: readonly MonitoredService[]): void {
    if (services.length === 0) return;
    const t = this.thresholds;
    this.facade.addLargeHeader('3. Services');
    for (const item of services) {
      this.facade.monitorSimpleFargateService({
        fargateService: item.service,
        alarmFriendlyName: `Service-${item.name}`,
        humanReadableName: `Service ${item.name}`,
        addCpuUsageAlarm: { Warning: { maxUsagePercent: t.serviceCpuPercent } },
        addMemoryUsageAlarm: { Warning: { maxUsagePercent: t.serviceMemoryPercent } },
      });
      const dimensionsMap = { ClusterName: item.service.cluster.clusterName, ServiceName: item.service.serviceName };
      const insight = (metricName: string) =>
        new cloudwatch.Metric({ namespace: 'ECS/ContainerInsights', metricName, dimensionsMap, statistic: 'Average', period: PERIOD });
      const missing = new cloudwatch.MathExpression({
        expression: 'desired - running',
        usingMetrics: { desired: insight('DesiredTaskCount'), running: insight('RunningTaskCount') },
        label: 'tasks short of desired',
        period: PERIOD,
      });
      const groups: CustomMetricGroup[] = [
        {
          title: 'Tasks short of desired',
          metrics: [
            {
              metric: missing,
              alarmFriendlyName: 'MissingTasks',
              // Three periods in a row: a deployment or a scale-out is short for a few minutes by design.
              addAlarm: { Critical: { ...atLeast(t.missingTasks), datapointsToAlarm: 3, evaluationPeriods: 3 } },
            },
          ],
        },
      ];
      if (item.targetGroup !== undefined) {
        groups.push({
          title: 'Unhealthy ALB targets',
          metrics: [
            {
              metric: item.targetGroup.metrics.unhealthyHostCount({ statistic: 'Maximum', period: PERIOD }),
              alarmFriendlyName: 'UnhealthyTargets',
              addAlarm: { Critical: atLeast(t.unhealthyTargets) },
            },
          ],
        });
      }
      if (item.logGroup !== undefined) {
        // Each service's lines carry its name (`service`, services/common/server.ts): one metric, a dimension per service.
        const dependency = this.countLines(
          `DependencyUnavailable${pascal(item.name)}`,
          item.logGroup,
          jsonEqualsPattern(LOG_CODE_FIELD, DEPENDENCY_UNAVAILABLE_CODE),
          'DependencyUnavailable',
          {
            [SERVICE_DIMENSION]: `$.${SERVICE_LOG_FIELD}`,
          },
        ).metric({ dimensionsMap: { [SERVICE_DIMENSION]: item.name }, statistic: 'Sum', period: PERIOD });
        groups.push({
          title: `${DEPENDENCY_UNAVAILABLE_CODE} answers`,
          metrics: [{ metric: dependency, alarmFriendlyName: 'DependencyUnavailable', addAlarm: { Critical: greaterThan(t.dependencyUnavailable) } }],
        });
      }
      this.facade.monitorCustom({
        alarmFriendlyName: `Service-${item.name}`,
        humanReadableName: `Service ${item.name}: tasks, targets, dependencies`,
        metricGroups: groups,
      });
    }
  }

  /** Each table: read and write throttles, system errors. */
  private monitorTables(tables: readonly MonitoredTable[]): void {
    if (tables.length === 0) return;
    const t = this.thresholds;
    this.facade.addLargeHeader('4. Tables');
    for (const item of tables) {
      this.facade.monitorDynamoTable({
        table: item.table,
        alarmFriendlyName: `Table-${item.name}`,
        humanReadableName: `Table ${item.name}`,
        addReadThrottledEventsCountAlarm: { Warning: { maxThrottledEventsThreshold: t.tableThrottledRequests } },
        addWriteThrottledEventsCountAlarm: { Warning: { maxThrottledEventsThreshold: t.tableThrottledRequests } },
        addSystemErrorCountAlarm: { Critical: { maxErrorCount: t.tableSystemErrors } },
      });
    }
  }

  /**
   * A metric filter counting lines of `logGroup` that match `pattern`, and its metric (sum per period).
   * `dimensions` map dimension names to fields of the line (`$.apiKeyId`).
   */
  private countLines(id: string, logGroup: logs.ILogGroup, pattern: string, metricName: string, dimensions?: Record<string, string>): logs.MetricFilter {
    const filter = new logs.MetricFilter(this, `${id}Filter`, {
      logGroup,
      filterPattern: logs.FilterPattern.literal(pattern),
      metricNamespace: GATEHOUSE_METRICS_NAMESPACE,
      metricName,
      metricValue: '1',
      unit: cloudwatch.Unit.COUNT,
      // A period without a matching line counts zero, so the alarm returns to OK; CloudWatch allows a
      // default value only on a filter without dimensions.
      ...(dimensions === undefined ? { defaultValue: 0 } : { dimensions }),
    });
    this.filters[id] = filter;
    return filter;
  }

  /** A topic encrypted with a key of its own: the AWS managed SNS key does not let CloudWatch publish. */
  private createTopic(): sns.Topic {
    const key = new kms.Key(this, 'AlarmTopicKey', {
      enableKeyRotation: true,
      description: `Gatehouse alarms (${Names.uniqueId(this)}): CloudWatch encrypts alarm notifications with it`,
    });
    // https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html (encrypted topics)
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
    );
    const topic = new sns.Topic(this, 'AlarmTopic', { masterKey: key, enforceSSL: true, displayName: 'Gatehouse alarms' });
    topic.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [topic.topicArn],
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
    );
    return topic;
  }
}

// Counts that no line or datapoint means zero of: missing data is not breaching, so an alarm that
// fired returns to OK (and says so on the topic) once the lines stop, instead of sitting in INSUFFICIENT_DATA.
function greaterThan(threshold: number) {
  return {
    threshold,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    treatMissingDataOverride: cloudwatch.TreatMissingData.NOT_BREACHING,
  };
}

function atLeast(threshold: number) {
  return {
    threshold,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    treatMissingDataOverride: cloudwatch.TreatMissingData.NOT_BREACHING,
  };
}

function pascal(name: string): string {
  return name
    .split('-')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, entry]) => entry !== undefined)) as Partial<T>;
}

const PERCENTS = [
  'api5xxRatePercent',
  'api4xxRatePercent',
  'api429RatePercent',
  'authorizerErrorRatePercent',
  'serviceCpuPercent',
  'serviceMemoryPercent',
] as const;
const COUNTS = [
  'throttledRequestsPerTier',
  'authorizerThrottles',
  'jwksUnavailable',
  'missingTasks',
  'unhealthyTargets',
  'tableThrottledRequests',
  'tableSystemErrors',
  'dependencyUnavailable',
] as const;

function validateThresholds(thresholds: Required<GatewayAlarmThresholds>): void {
  for (const name of PERCENTS) {
    const value = thresholds[name];
    if (!(Number.isFinite(value) && value >= 0 && value <= 100)) throw new Error(`thresholds.${name} must be a percentage from 0 to 100, got ${String(value)}`);
  }
  for (const name of COUNTS) {
    const value = thresholds[name];
    if (!(Number.isInteger(value) && value >= 0)) throw new Error(`thresholds.${name} must be a whole number >= 0, got ${String(value)}`);
  }
  const latency = thresholds.apiLatencyP99.toMilliseconds();
  if (!(latency > 0 && latency <= 29_000)) {
    throw new Error(`thresholds.apiLatencyP99 must be more than 0 and at most 29 seconds (API Gateway's integration timeout), got ${latency} ms`);
  }
}
