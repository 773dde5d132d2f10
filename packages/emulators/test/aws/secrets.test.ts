import {
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
} from '@aws-sdk/client-secrets-manager';
import { embeddedOnly, failure, uniqueName, useAws } from './harness';
import { clockedEmulator } from './sqs-support';

/** Secrets Manager: values, versions and staging labels, deletion, errors. */

const aws = useAws();

describe('secret values', () => {
  it('round-trips a string secret by name and by ARN', async () => {
    const { secrets } = aws();
    const name = uniqueName('ferry/kubeconfig');
    const kubeconfig = 'apiVersion: v1\nkind: Config\n# ünïcødé';
    const created = await secrets.send(new CreateSecretCommand({ Name: name, SecretString: kubeconfig, Description: 'cluster access' }));
    expect(created.ARN).toMatch(new RegExp(`^arn:aws:secretsmanager:us-east-1:\\d{12}:secret:${name}-[A-Za-z0-9]{6}$`));
    expect(created.Name).toBe(name);

    for (const SecretId of [name, created.ARN!]) {
      const got = await secrets.send(new GetSecretValueCommand({ SecretId }));
      expect(got).toMatchObject({ ARN: created.ARN, Name: name, SecretString: kubeconfig, VersionId: created.VersionId, VersionStages: ['AWSCURRENT'] });
      expect(got.CreatedDate).toBeInstanceOf(Date);
      expect(got.SecretBinary).toBeUndefined();
    }
  });

  it('round-trips a binary secret', async () => {
    const { secrets } = aws();
    const name = uniqueName('binary');
    const bytes = Uint8Array.from([0, 1, 2, 250, 255]);
    await secrets.send(new CreateSecretCommand({ Name: name, SecretBinary: bytes }));
    const got = await secrets.send(new GetSecretValueCommand({ SecretId: name }));
    expect(Buffer.from(got.SecretBinary!)).toEqual(Buffer.from(bytes));
    expect(got.SecretString).toBeUndefined();
  });

  it('moves AWSCURRENT to a new value and keeps the old one as AWSPREVIOUS', async () => {
    const { secrets } = aws();
    const name = uniqueName('token');
    const v1 = await secrets.send(new CreateSecretCommand({ Name: name, SecretString: 'old-token' }));
    const v2 = await secrets.send(new PutSecretValueCommand({ SecretId: name, SecretString: 'new-token' }));
    expect(v2.VersionStages).toEqual(['AWSCURRENT']);
    expect(v2.VersionId).not.toBe(v1.VersionId);
    expect((await secrets.send(new GetSecretValueCommand({ SecretId: name }))).SecretString).toBe('new-token');
    expect(await secrets.send(new GetSecretValueCommand({ SecretId: name, VersionStage: 'AWSPREVIOUS' }))).toMatchObject({ SecretString: 'old-token', VersionId: v1.VersionId });
    expect((await secrets.send(new GetSecretValueCommand({ SecretId: name, VersionId: v1.VersionId }))).VersionStages).toEqual(['AWSPREVIOUS']);

    const described = await secrets.send(new DescribeSecretCommand({ SecretId: name }));
    expect(described.VersionIdsToStages).toEqual({ [v1.VersionId!]: ['AWSPREVIOUS'], [v2.VersionId!]: ['AWSCURRENT'] });
    expect(described.LastChangedDate).toBeInstanceOf(Date);
  });

  it('treats a retried write with the same ClientRequestToken as done', async () => {
    const { secrets } = aws();
    const name = uniqueName('retry');
    const token = '11111111-2222-4333-8444-555555555555';
    const first = await secrets.send(new CreateSecretCommand({ Name: name, SecretString: 'v', ClientRequestToken: token }));
    const again = await secrets.send(new CreateSecretCommand({ Name: name, SecretString: 'v', ClientRequestToken: token }));
    expect(again.VersionId).toBe(first.VersionId);
    const putToken = '21111111-2222-4333-8444-555555555555';
    await secrets.send(new PutSecretValueCommand({ SecretId: name, SecretString: 'w', ClientRequestToken: putToken }));
    await secrets.send(new PutSecretValueCommand({ SecretId: name, SecretString: 'w', ClientRequestToken: putToken }));
    expect((await failure(secrets.send(new PutSecretValueCommand({ SecretId: name, SecretString: 'different', ClientRequestToken: putToken })))).name).toBe(
      'ResourceExistsException',
    );
  });
});

describe('errors', () => {
  it('answers with AWS’s codes and messages', async () => {
    const { secrets } = aws();
    expect(await failure(secrets.send(new GetSecretValueCommand({ SecretId: uniqueName('missing') })))).toEqual({
      name: 'ResourceNotFoundException',
      message: "Secrets Manager can't find the specified secret.",
      status: 400,
    });
    const name = uniqueName('dup');
    await secrets.send(new CreateSecretCommand({ Name: name, SecretString: 'x' }));
    expect(await failure(secrets.send(new CreateSecretCommand({ Name: name, SecretString: 'y' })))).toEqual({
      name: 'ResourceExistsException',
      message: `The operation failed because the secret ${name} already exists.`,
      status: 400,
    });
    expect(await failure(secrets.send(new CreateSecretCommand({ Name: uniqueName('both'), SecretString: 'x', SecretBinary: Uint8Array.from([1]) })))).toMatchObject({
      name: 'InvalidParameterException',
    });
    expect(await failure(secrets.send(new GetSecretValueCommand({ SecretId: name, VersionStage: 'AWSPENDING' })))).toEqual({
      name: 'ResourceNotFoundException',
      message: "Secrets Manager can't find the specified secret value for staging label: AWSPENDING",
      status: 400,
    });
    const empty = uniqueName('empty');
    await secrets.send(new CreateSecretCommand({ Name: empty }));
    expect((await failure(secrets.send(new GetSecretValueCommand({ SecretId: empty })))).name).toBe('ResourceNotFoundException');
  });
});

describe('DeleteSecret', () => {
  it('schedules deletion: reads are refused and the name is held', async () => {
    const { secrets } = aws();
    const name = uniqueName('scheduled');
    await secrets.send(new CreateSecretCommand({ Name: name, SecretString: 'x' }));
    const deleted = await secrets.send(new DeleteSecretCommand({ SecretId: name, RecoveryWindowInDays: 7 }));
    expect(deleted.DeletionDate).toBeInstanceOf(Date);
    expect(await failure(secrets.send(new GetSecretValueCommand({ SecretId: name })))).toEqual({
      name: 'InvalidRequestException',
      message: "You can't perform this operation on the secret because it was marked for deletion.",
      status: 400,
    });
    expect((await secrets.send(new DescribeSecretCommand({ SecretId: name }))).DeletedDate).toBeInstanceOf(Date);
    expect(await failure(secrets.send(new CreateSecretCommand({ Name: name, SecretString: 'y' })))).toMatchObject({
      name: 'InvalidRequestException',
      message: "You can't create this secret because a secret with this name is already scheduled for deletion.",
    });
  });

  it('deletes at once with ForceDeleteWithoutRecovery, and validates the options', async () => {
    const { secrets } = aws();
    const name = uniqueName('forced');
    const first = await secrets.send(new CreateSecretCommand({ Name: name, SecretString: 'x' }));
    expect(await failure(secrets.send(new DeleteSecretCommand({ SecretId: name, ForceDeleteWithoutRecovery: true, RecoveryWindowInDays: 7 })))).toEqual({
      name: 'InvalidParameterException',
      message: "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.",
      status: 400,
    });
    expect((await failure(secrets.send(new DeleteSecretCommand({ SecretId: name, RecoveryWindowInDays: 6 })))).name).toBe('InvalidParameterException');
    await secrets.send(new DeleteSecretCommand({ SecretId: name, ForceDeleteWithoutRecovery: true }));
    expect((await failure(secrets.send(new GetSecretValueCommand({ SecretId: name })))).name).toBe('ResourceNotFoundException');
    const second = await secrets.send(new CreateSecretCommand({ Name: name, SecretString: 'again' }));
    expect(second.ARN).not.toBe(first.ARN);
  });
});

embeddedOnly('the recovery window', () => {
  it('frees the name once the window has passed', async () => {
    const s = await clockedEmulator();
    try {
      await s.secrets.send(new CreateSecretCommand({ Name: 'webhook-token', SecretString: 'x' }));
      await s.secrets.send(new DeleteSecretCommand({ SecretId: 'webhook-token', RecoveryWindowInDays: 7 }));
      s.clock.advance(7 * 86_400_000 - 1);
      expect((await failure(s.secrets.send(new CreateSecretCommand({ Name: 'webhook-token', SecretString: 'y' })))).name).toBe('InvalidRequestException');
      s.clock.advance(1);
      await s.secrets.send(new CreateSecretCommand({ Name: 'webhook-token', SecretString: 'y' }));
      expect((await s.secrets.send(new GetSecretValueCommand({ SecretId: 'webhook-token' }))).SecretString).toBe('y');
    } finally {
      await s.close();
    }
  });
});
