/** AWS SDK clients of the services, built once per process with explicit timeouts. */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SERVICE_ENV } from '../../lib/runtime-env';
import { optionalEnv } from './config';

/** Timeouts of each attempt of an SDK call: a stuck dependency must fail a request, not hang it. */
export const SDK_TIMEOUTS = { connectionTimeout: 1_000, requestTimeout: 2_000 } as const;

/**
 * The DynamoDB document client (`timeouts` only for tests, whose in-process dynalite on a busy
 * two-core machine is far slower than DynamoDB). Locally, DYNAMODB_ENDPOINT points at dynalite and any credentials do;
 * on AWS the task role's credentials and region come from the environment.
 */
export function createDocumentClient(
  env: NodeJS.ProcessEnv,
  timeouts: { connectionTimeout: number; requestTimeout: number } = SDK_TIMEOUTS,
): DynamoDBDocumentClient {
  const endpoint = optionalEnv(env, SERVICE_ENV.dynamodbEndpoint);
  const client = new DynamoDBClient({
    // Without throwOnRequestTimeout, @smithy/node-http-handler (4.x) only logs a warning when
    // requestTimeout passes and the call waits on forever. Each call is also cut off at the request's
    // deadline (see deadline.ts), which bounds the attempts together.
    requestHandler: { ...timeouts, throwOnRequestTimeout: true },
    maxAttempts: 3,
    ...(endpoint !== undefined && {
      endpoint,
      region: optionalEnv(env, SERVICE_ENV.region) ?? 'local',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    }),
  });
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}
