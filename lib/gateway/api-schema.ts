/** The route spec's JSON schemas as API Gateway models take them (draft-04, the same objects). */
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import type { JsonSchema } from '../routes/route-spec';

const TYPES: Readonly<Record<NonNullable<JsonSchema['type']>, apigateway.JsonSchemaType>> = {
  object: apigateway.JsonSchemaType.OBJECT,
  array: apigateway.JsonSchemaType.ARRAY,
  string: apigateway.JsonSchemaType.STRING,
  integer: apigateway.JsonSchemaType.INTEGER,
  number: apigateway.JsonSchemaType.NUMBER,
  boolean: apigateway.JsonSchemaType.BOOLEAN,
  null: apigateway.JsonSchemaType.NULL,
};

/** The same schema in CDK's types: only the representation changes, every keyword is kept. */
export function toApiGatewaySchema(schema: JsonSchema): apigateway.JsonSchema {
  const { $schema, type, properties, items, additionalProperties, enum: values, required, ...rest } = schema;
  return {
    ...rest,
    ...($schema !== undefined && { schema: apigateway.JsonSchemaVersion.DRAFT4 }),
    ...(type !== undefined && { type: TYPES[type] }),
    ...(properties !== undefined && { properties: Object.fromEntries(Object.entries(properties).map(([name, value]) => [name, toApiGatewaySchema(value)])) }),
    ...(items !== undefined && { items: toApiGatewaySchema(items) }),
    ...(additionalProperties !== undefined && {
      additionalProperties: typeof additionalProperties === 'boolean' ? additionalProperties : toApiGatewaySchema(additionalProperties),
    }),
    ...(values !== undefined && { enum: [...values] }),
    ...(required !== undefined && { required: [...required] }),
  };
}
