/** Reading synthesized templates in tests. */
import type { Template } from 'aws-cdk-lib/assertions';

/** Each method of the template as `METHOD /path`, with its properties. */
export function methodsOf(template: Template): Map<string, Record<string, unknown>> {
  const resources = template.findResources('AWS::ApiGateway::Resource');
  const pathOf = (logicalId: string): string => {
    const { ParentId, PathPart } = resources[logicalId].Properties as { ParentId: { Ref?: string }; PathPart: string };
    return ParentId.Ref !== undefined && resources[ParentId.Ref] !== undefined ? `${pathOf(ParentId.Ref)}/${PathPart}` : `/${PathPart}`;
  };
  const methods = new Map<string, Record<string, unknown>>();
  for (const method of Object.values(template.findResources('AWS::ApiGateway::Method'))) {
    const properties = method.Properties as { HttpMethod: string; ResourceId: { Ref?: string } };
    const where = properties.ResourceId.Ref !== undefined && resources[properties.ResourceId.Ref] !== undefined ? pathOf(properties.ResourceId.Ref) : '/';
    methods.set(`${properties.HttpMethod} ${where}`, properties);
  }
  return methods;
}
