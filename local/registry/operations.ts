/**
 * The Cloud Map operations the registry serves: each checks its JSON input the way the Cloud Map API
 * reference constrains it, calls {@link RegistryState}, and shapes the output the way the SDK reads it.
 * Nothing here knows about HTTP; the edge (registry.ts) maps a {@link RegistryError} to an AWS JSON error.
 */
import { randomInt } from 'node:crypto';
import { HEALTH_STATUS_FILTERS, INSTANCE_HEALTH_VALUES, RegistryError } from './state';
import type { RegistryState } from './state';

/**
 * The `X-Amz-Target` prefix of Cloud Map (service `servicediscovery`, API version 2017-03-14); the
 * operation name follows the dot.
 */
export const TARGET_PREFIX = 'Route53AutoNaming_v20170314.';

/** The content type of the AWS JSON 1.1 protocol, which Cloud Map speaks. */
export const AWS_JSON_CONTENT_TYPE = 'application/x-amz-json-1.1';

/** An operation: the request body (parsed JSON, unchecked) in, the response body out. */
export type Operation = (state: RegistryState, input: unknown) => object;

/**
 * The operation an `X-Amz-Target` header names, or undefined when the registry does not serve it.
 */
export function findOperation(target: string | undefined): Operation | undefined {
  if (target === undefined || !target.startsWith(TARGET_PREFIX)) return undefined;
  const name = target.slice(TARGET_PREFIX.length);
  // Own properties only: a target of "__proto__" or "toString" must not reach Object.prototype.
  return Object.hasOwn(OPERATIONS, name) ? OPERATIONS[name] : undefined;
}

/** The operations the registry serves, by the name that follows {@link TARGET_PREFIX}. */
const OPERATIONS: Readonly<Record<string, Operation>> = {
  RegisterInstance(state, input) {
    assertObject(input);
    const attributes = stringMap(input, 'Attributes', { required: true });
    checkAttributes(attributes);
    const serviceId = requiredString(input, 'ServiceId', RESOURCE_ID_MAX);
    const id = instanceId(input);
    // CreatorRequestId makes a retried registration safe on Cloud Map; here registering the same
    // instance again gives the same result anyway, so it is only checked.
    optionalString(input, 'CreatorRequestId', RESOURCE_ID_MAX);
    state.register({ serviceId, instanceId: id, attributes });
    return { OperationId: operationId() };
  },

  DeregisterInstance(state, input) {
    assertObject(input);
    state.deregister(requiredString(input, 'ServiceId', RESOURCE_ID_MAX), instanceId(input));
    return { OperationId: operationId() };
  },

  DiscoverInstances(state, input) {
    assertObject(input);
    const namespace = requiredString(input, 'NamespaceName', 1024);
    const serviceName = requiredString(input, 'ServiceName', 127);
    const discovery = state.discover({
      namespace,
      serviceName,
      // The API reference gives no default; moto's is ALL, and the registry follows moto. Callers
      // should always say which instances they want.
      healthStatus: optionalEnum(input, 'HealthStatus', HEALTH_STATUS_FILTERS) ?? 'ALL',
      queryParameters: stringMap(input, 'QueryParameters') ?? {},
      optionalParameters: stringMap(input, 'OptionalParameters') ?? {},
      // Cloud Map's range and default; moto returns every instance when MaxResults is left out.
      maxResults: optionalInteger(input, 'MaxResults', 1, 1000) ?? 100,
    });
    return {
      Instances: discovery.instances.map((instance) => ({
        InstanceId: instance.instanceId,
        NamespaceName: instance.namespace,
        ServiceName: instance.serviceName,
        HealthStatus: instance.health,
        Attributes: instance.attributes,
      })),
      InstancesRevision: discovery.revision,
    };
  },

  GetInstancesHealthStatus(state, input) {
    assertObject(input);
    const serviceId = requiredString(input, 'ServiceId', RESOURCE_ID_MAX);
    const instances = optionalStringArray(input, 'Instances', RESOURCE_ID_MAX);
    const maxResults = optionalInteger(input, 'MaxResults', 1, 100) ?? 100;
    const start = pageStart(optionalString(input, 'NextToken', 4096));
    const statuses = state.healthStatuses(serviceId, instances);
    const end = start + maxResults;
    return {
      Status: Object.fromEntries(statuses.slice(start, end)),
      ...(end < statuses.length && { NextToken: String(end) }),
    };
  },

  UpdateInstanceCustomHealthStatus(state, input) {
    assertObject(input);
    const serviceId = requiredString(input, 'ServiceId', RESOURCE_ID_MAX);
    const id = instanceId(input);
    const status = optionalEnum(input, 'Status', INSTANCE_HEALTH_VALUES);
    if (status === undefined) throw invalid('Status is required');
    state.setHealth(serviceId, id, status);
    return {};
  },
};

/** A JSON object as the body of a request. */
type JsonObject = Readonly<Record<string, unknown>>;

// Limits from the Cloud Map API reference (RegisterInstance, DiscoverInstances,
// GetInstancesHealthStatus): checked here so that what works locally also works on AWS.
const RESOURCE_ID_MAX = 64;
const INSTANCE_ID = /^[0-9a-zA-Z_/:.@-]+$/;
const ATTRIBUTE_KEY = /^[a-zA-Z0-9!-~]{1,255}$/;
const ATTRIBUTE_VALUE = /^(?:[!-~][ \t!-~]*)?$/;
const ATTRIBUTE_VALUE_MAX = 1024;
const ATTRIBUTES_TOTAL_MAX = 5000;

/** Asserts the request body is a JSON object (not an array, a string or null). */
function assertObject(value: unknown): asserts value is JsonObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid('the request body must be a JSON object');
}

function invalid(message: string): RegistryError {
  return new RegistryError('InvalidInput', message);
}

function optionalString(input: JsonObject, field: string, maxLength: number): string | undefined {
  const value = input[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw invalid(`${field} must be a string`);
  if (value.length > maxLength) throw invalid(`${field} must be at most ${maxLength} characters`);
  return value;
}

function requiredString(input: JsonObject, field: string, maxLength: number): string {
  const value = optionalString(input, field, maxLength);
  if (value === undefined || value.length === 0) throw invalid(`${field} is required`);
  return value;
}

function instanceId(input: JsonObject): string {
  const value = requiredString(input, 'InstanceId', RESOURCE_ID_MAX);
  if (!INSTANCE_ID.test(value)) throw invalid('InstanceId may hold only letters, digits and _ / : . @ -');
  return value;
}

function optionalEnum<T extends string>(input: JsonObject, field: string, values: readonly T[]): T | undefined {
  const value = optionalString(input, field, 64);
  if (value === undefined) return undefined;
  const found = values.find((candidate) => candidate === value);
  if (found === undefined) throw invalid(`${field} must be one of ${values.join(', ')}, got "${value}"`);
  return found;
}

function optionalInteger(input: JsonObject, field: string, min: number, max: number): number | undefined {
  const value = input[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalid(`${field} must be an integer from ${min} to ${max}`);
  }
  return value;
}

function optionalStringArray(input: JsonObject, field: string, maxLength: number): string[] | undefined {
  const value = input[field];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || value.length === 0) throw invalid(`${field} must be a non-empty list of strings`);
  return value.map((entry: unknown, index) => {
    if (typeof entry !== 'string' || entry.length === 0 || entry.length > maxLength) {
      throw invalid(`${field}[${index}] must be a string of 1 to ${maxLength} characters`);
    }
    return entry;
  });
}

function stringMap(input: JsonObject, field: string, options: { required: true }): Record<string, string>;
function stringMap(input: JsonObject, field: string): Record<string, string> | undefined;
function stringMap(input: JsonObject, field: string, options?: { required: true }): Record<string, string> | undefined {
  const value = input[field];
  if (value === undefined || value === null) {
    if (options?.required) throw invalid(`${field} is required`);
    return undefined;
  }
  if (typeof value !== 'object' || Array.isArray(value)) throw invalid(`${field} must be a map of strings`);
  const entries = Object.entries(value).map(([key, entry]: [string, unknown]) => {
    if (!ATTRIBUTE_KEY.test(key)) throw invalid(`${field} keys must be 1 to 255 printable ASCII characters, got "${key.slice(0, 64)}"`);
    if (typeof entry !== 'string' || entry.length > ATTRIBUTE_VALUE_MAX || !ATTRIBUTE_VALUE.test(entry)) {
      throw invalid(`${field}.${key} must be a string of at most ${ATTRIBUTE_VALUE_MAX} printable ASCII characters`);
    }
    return [key, entry] as const;
  });
  return Object.fromEntries(entries);
}

function checkAttributes(attributes: Readonly<Record<string, string>>): void {
  const total = Object.entries(attributes).reduce((sum, [key, value]) => sum + key.length + value.length, 0);
  if (total > ATTRIBUTES_TOTAL_MAX) throw invalid(`Attributes must total at most ${ATTRIBUTES_TOTAL_MAX} characters (keys and values), got ${total}`);
}

// NextToken is the offset of the next page, as in moto. Cloud Map's tokens are opaque, so callers
// only ever pass back what they were given; anything else is refused rather than read as page one.
function pageStart(token: string | undefined): number {
  if (token === undefined) return 0;
  if (!/^[1-9][0-9]{0,8}$/.test(token)) throw invalid('NextToken is not a token this registry issued');
  return Number(token);
}

// Operation ids shaped like Cloud Map's (and moto's): 32 and 8 lowercase letters and digits. Nothing
// looks them up: every operation succeeds at once, so there is no GetOperation to poll.
function operationId(): string {
  const part = (length: number) => Array.from({ length }, () => OPERATION_ALPHABET[randomInt(OPERATION_ALPHABET.length)]).join('');
  return `${part(32)}-${part(8)}`;
}

const OPERATION_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
