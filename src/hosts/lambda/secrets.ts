import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

/**
 * Secrets are read once per container and kept for its life: a cold start pays one
 * GetSecretValue, warm invocations none. A failed read is not cached, so the next
 * invocation tries again.
 */
const cache = new Map<string, Promise<string>>();

export function readSecret(secretId: string, client: () => SecretsManagerClient): Promise<string> {
  let value = cache.get(secretId);
  if (!value) {
    value = client()
      .send(new GetSecretValueCommand({ SecretId: secretId }))
      .then((out) => {
        if (out.SecretString === undefined) throw new Error(`secret ${secretId} has no string value`);
        return out.SecretString;
      });
    value.catch(() => cache.delete(secretId));
    cache.set(secretId, value);
  }
  return value;
}

/** For tests: forget what was read. */
export function forgetSecrets(): void {
  cache.clear();
}
