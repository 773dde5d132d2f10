import { AwsError, constraintMessage } from './errors';
import type { JsonContext, JsonInput, JsonObject, JsonServiceDefinition } from './json-protocol';
import type { ParamErrors } from './query';
import type { AwsState } from './state';

/**
 * AWS Secrets Manager (2017-10-17) over AWS JSON 1.1 (`X-Amz-Target: secretsmanager.<Op>`):
 * create, read, version and delete secrets. Every error is HTTP 400 with the bare shape
 * name in `__type` and the text in `Message`; codes and messages are AWS's.
 *
 * Versions follow the staging-label rules: a new value becomes AWSCURRENT, the version it
 * replaces AWSPREVIOUS; `ClientRequestToken` (which the SDK fills in) is the new version's
 * id and makes a retried CreateSecret or PutSecretValue with the same value a no-op.
 * DeleteSecret schedules deletion (7–30 days, default 30) unless ForceDeleteWithoutRecovery;
 * a scheduled secret refuses reads and writes and holds its name until the clock passes
 * its deletion date.
 */
export interface SecretVersion {
  readonly id: string;
  readonly string: string | undefined;
  /** Base64, as blobs travel in the JSON protocol. */
  readonly binary: string | undefined;
  readonly stages: Set<string>;
  readonly createdAt: number;
}

export interface Secret {
  readonly seq: number;
  readonly name: string;
  readonly arn: string;
  readonly description: string | undefined;
  readonly kmsKeyId: string | undefined;
  readonly tags: Map<string, string>;
  readonly createdAt: number;
  lastChangedAt: number;
  lastAccessedAt: number | undefined;
  deletedAt: number | undefined;
  deletionDate: number | undefined;
  /** In creation order. */
  readonly versions: Map<string, SecretVersion>;
}

const DAY_MS = 86_400_000;
const NAME = /^[A-Za-z0-9/_+=.@-]{1,512}$/;
/** AWS keeps deprecated (unlabelled) versions until a secret has more than 100. */
const MAX_VERSIONS = 100;

const fail = (code: string, message: string): AwsError => new AwsError(code, message);
const notFound = (): AwsError => fail('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
const markedForDeletion = (): AwsError => fail('InvalidRequestException', "You can't perform this operation on the secret because it was marked for deletion.");
const bothValues = (): AwsError => fail('InvalidParameterException', "You can't specify both a binary secret value and a string secret value in the same secret.");

/** Missing members fail Coral's model validation, as they do on AWS. */
const inputErrors: ParamErrors = {
  missing: (field) => fail('ValidationException', constraintMessage(field.charAt(0).toLowerCase() + field.slice(1), null, 'Member must not be null')),
  invalid: (field, value) => fail('InvalidParameterException', `Invalid value ${value} for parameter ${field}.`),
};

export function createSecret(ctx: JsonContext): JsonObject {
  const { state, input } = ctx;
  const now = ctx.clock.now();
  const name = input.required('Name');
  if (!NAME.test(name)) throw fail('InvalidParameterException', 'Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!');
  const value = readValue(input);
  const token = input.str('ClientRequestToken');
  const existing = findSecret(state, name, now);
  if (existing) {
    if (existing.deletedAt !== undefined) throw fail('InvalidRequestException', "You can't create this secret because a secret with this name is already scheduled for deletion.");
    const retried = token === undefined ? undefined : existing.versions.get(token);
    if (retried && sameValue(retried, value)) return { ARN: existing.arn, Name: existing.name, VersionId: retried.id };
    throw fail('ResourceExistsException', `The operation failed because the secret ${name} already exists.`);
  }
  const secret: Secret = {
    seq: state.nextSeq(),
    name,
    // AWS appends a hyphen and six random characters so a re-created name gets a new ARN.
    arn: `arn:aws:secretsmanager:${state.region}:${state.accountId}:secret:${name}-${state.alphanumeric(6)}`,
    description: input.str('Description'),
    kmsKeyId: input.str('KmsKeyId'),
    tags: new Map((input.structs('Tags') ?? []).map((tag) => [tag.required('Key'), tag.str('Value') ?? ''])),
    createdAt: now,
    lastChangedAt: now,
    lastAccessedAt: undefined,
    deletedAt: undefined,
    deletionDate: undefined,
    versions: new Map(),
  };
  state.secrets.set(name, secret);
  if (value.string === undefined && value.binary === undefined) return { ARN: secret.arn, Name: name };
  const version = addVersion(secret, token ?? state.uuid(), value, ['AWSCURRENT'], now);
  return { ARN: secret.arn, Name: name, VersionId: version.id };
}

export function putSecretValue(ctx: JsonContext): JsonObject {
  const { state, input } = ctx;
  const now = ctx.clock.now();
  const secret = liveSecret(ctx, now);
  const value = readValue(input);
  if (value.string === undefined && value.binary === undefined) throw fail('InvalidRequestException', 'You must provide either SecretString or SecretBinary.');
  const token = input.str('ClientRequestToken') ?? state.uuid();
  const existing = secret.versions.get(token);
  if (existing) {
    if (!sameValue(existing, value)) throw fail('ResourceExistsException', "You can't modify an existing version, you can only create a new version.");
    return { ARN: secret.arn, Name: secret.name, VersionId: existing.id, VersionStages: [...existing.stages] };
  }
  const version = addVersion(secret, token, value, input.strings('VersionStages') ?? ['AWSCURRENT'], now);
  return { ARN: secret.arn, Name: secret.name, VersionId: version.id, VersionStages: [...version.stages] };
}

export function getSecretValue(ctx: JsonContext): JsonObject {
  const now = ctx.clock.now();
  const secret = liveSecret(ctx, now);
  const versionId = ctx.input.str('VersionId');
  const stage = ctx.input.str('VersionStage');
  let version: SecretVersion | undefined;
  if (versionId !== undefined) {
    version = secret.versions.get(versionId);
    if (!version) throw fail('ResourceNotFoundException', `Secrets Manager can't find the specified secret value for VersionId: ${versionId}`);
    if (stage !== undefined && !version.stages.has(stage)) throw fail('InvalidRequestException', 'You provided a VersionStage that is not associated to the provided VersionId.');
  } else {
    const label = stage ?? 'AWSCURRENT';
    version = [...secret.versions.values()].find((v) => v.stages.has(label));
    if (!version) throw fail('ResourceNotFoundException', `Secrets Manager can't find the specified secret value for staging label: ${label}`);
  }
  // LastAccessedDate is kept to the day ("rounded to the nearest date").
  secret.lastAccessedAt = Math.floor(now / DAY_MS) * DAY_MS;
  return {
    ARN: secret.arn,
    Name: secret.name,
    VersionId: version.id,
    SecretString: version.string,
    SecretBinary: version.binary,
    VersionStages: [...version.stages],
    CreatedDate: version.createdAt / 1000,
  };
}

export function describeSecret(ctx: JsonContext): JsonObject {
  const secret = requireSecret(ctx, ctx.clock.now());
  const seconds = (ms: number | undefined): number | undefined => (ms === undefined ? undefined : ms / 1000);
  return {
    ARN: secret.arn,
    Name: secret.name,
    Description: secret.description,
    KmsKeyId: secret.kmsKeyId,
    CreatedDate: seconds(secret.createdAt),
    LastChangedDate: seconds(secret.lastChangedAt),
    LastAccessedDate: seconds(secret.lastAccessedAt),
    DeletedDate: seconds(secret.deletedAt),
    Tags: secret.tags.size > 0 ? [...secret.tags].map(([Key, Value]) => ({ Key, Value })) : undefined,
    // Only labelled versions: unlabelled ones are deprecated and not listed.
    VersionIdsToStages: Object.fromEntries([...secret.versions.values()].filter((v) => v.stages.size > 0).map((v) => [v.id, [...v.stages]])),
  };
}

export function deleteSecret(ctx: JsonContext): JsonObject {
  const now = ctx.clock.now();
  const force = ctx.input.bool('ForceDeleteWithoutRecovery') ?? false;
  const window = ctx.input.int('RecoveryWindowInDays');
  if (force && window !== undefined) throw fail('InvalidParameterException', "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.");
  if (window !== undefined && (window < 7 || window > 30)) throw fail('InvalidParameterException', 'The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).');
  const secret = requireSecret(ctx, now);
  if (force) {
    ctx.state.secrets.delete(secret.name);
    return { ARN: secret.arn, Name: secret.name, DeletionDate: now / 1000 };
  }
  if (secret.deletedAt !== undefined) throw fail('InvalidRequestException', "You can't perform this operation on the secret because it was already scheduled for deletion.");
  secret.deletedAt = now;
  secret.deletionDate = now + (window ?? 30) * DAY_MS;
  return { ARN: secret.arn, Name: secret.name, DeletionDate: secret.deletionDate / 1000 };
}

function readValue(input: JsonInput): { string: string | undefined; binary: string | undefined } {
  const value = { string: input.str('SecretString'), binary: input.str('SecretBinary') };
  if (value.string !== undefined && value.binary !== undefined) throw bothValues();
  return value;
}

function sameValue(version: SecretVersion, value: { string: string | undefined; binary: string | undefined }): boolean {
  return version.string === value.string && version.binary === value.binary;
}

/** Adds a version carrying `stages`; the version losing AWSCURRENT becomes AWSPREVIOUS. */
function addVersion(secret: Secret, id: string, value: { string: string | undefined; binary: string | undefined }, stages: readonly string[], now: number): SecretVersion {
  for (const stage of stages) {
    for (const other of secret.versions.values()) {
      if (!other.stages.delete(stage) || stage !== 'AWSCURRENT') continue;
      for (const older of secret.versions.values()) older.stages.delete('AWSPREVIOUS');
      other.stages.add('AWSPREVIOUS');
    }
  }
  const version: SecretVersion = { id, string: value.string, binary: value.binary, stages: new Set(stages), createdAt: now };
  secret.versions.set(id, version);
  for (const [versionId, old] of secret.versions) {
    if (secret.versions.size <= MAX_VERSIONS) break;
    if (old.stages.size === 0) secret.versions.delete(versionId);
  }
  secret.lastChangedAt = now;
  return version;
}

function requireSecret(ctx: JsonContext, now: number): Secret {
  const secret = findSecret(ctx.state, ctx.input.required('SecretId'), now);
  if (!secret) throw notFound();
  return secret;
}

/** A secret that is not scheduled for deletion: reads and writes refuse the others. */
function liveSecret(ctx: JsonContext, now: number): Secret {
  const secret = requireSecret(ctx, now);
  if (secret.deletedAt !== undefined) throw markedForDeletion();
  return secret;
}

/**
 * By name, full ARN, or partial ARN (the ARN without its random suffix), as SecretId
 * accepts. Secrets whose recovery window has passed are gone first.
 */
function findSecret(state: AwsState, id: string, now: number): Secret | undefined {
  for (const [name, secret] of state.secrets) if (secret.deletionDate !== undefined && secret.deletionDate <= now) state.secrets.delete(name);
  return state.secrets.get(id) ?? [...state.secrets.values()].find((s) => s.arn === id || s.arn.slice(0, -7) === id);
}

export const secretsManagerService: JsonServiceDefinition = {
  service: 'secretsmanager',
  targetPrefix: 'secretsmanager',
  contentType: 'application/x-amz-json-1.1',
  typePrefix: '',
  messageKey: 'Message',
  queryCompatible: false,
  inputErrors,
  handlers: {
    CreateSecret: createSecret,
    GetSecretValue: getSecretValue,
    PutSecretValue: putSecretValue,
    DescribeSecret: describeSecret,
    DeleteSecret: deleteSecret,
  },
  throttlingError: () => new AwsError('ThrottlingException', 'Rate exceeded'),
};
