#!/usr/bin/env node
/** The Gatehouse CDK app: reads its configuration from the CDK context, builds the stack, checks it with cdk-nag. */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { CONFIG_CONTEXT_KEY, readGatehouseConfig } from '../lib/config';
import { GatewayStack } from '../lib/gateway-stack';

const app = new App();
new GatewayStack(app, 'Gatehouse', {
  config: readGatehouseConfig(app.node.tryGetContext(CONFIG_CONTEXT_KEY)),
  description: 'Gatehouse: the API Gateway pattern for microservices on AWS',
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});
// Every AwsSolutions finding fails the synth unless it is fixed or acknowledged next to its construct.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
