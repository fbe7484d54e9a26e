/** The product service process: configuration from the environment, then listen until stopped. */
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { SERVICES } from '../../lib/routes/gatehouse-routes';
import { SERVICE_ENV } from '../../lib/runtime-env';
import { createDocumentClient } from '../common/aws';
import { requiredEnv } from '../common/config';
import { run, runOptionsFromEnv } from '../common/lifecycle';
import { createProductApp } from './app';
import { ProductStore } from './products';

const tableName = requiredEnv(process.env, SERVICE_ENV.productsTable);
const options = runOptionsFromEnv(process.env, SERVICES.product);
const db = createDocumentClient(process.env);
const app = createProductApp({
  store: new ProductStore(db, tableName),
  readiness: async () => {
    await db.send(new DescribeTableCommand({ TableName: tableName }));
  },
});

run(app, { ...options, onClosed: async () => db.destroy() }).catch((error: unknown) => {
  app.log.error({ error: error instanceof Error ? error.message : String(error) }, 'failed to start');
  process.exit(1);
});
