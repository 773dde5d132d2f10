import { loadConfig } from '../../../src/config/env';
import { ConfigError } from '../../../src/errors';

describe('loadConfig', () => {
  test('FERRY_CLUSTER_NAME is required, with what to set it to', () => {
    expect(() => loadConfig({ AWS_REGION: 'us-east-1' })).toThrow(
      new ConfigError(
        'invalid configuration:\n  FERRY_CLUSTER_NAME is required; set it to 1–63 letters, digits, "-", "_" or ".", starting with a letter or digit (the name of your cluster, e.g. prod-eu)',
      ),
    );
  });

  test('every bad variable is reported at once, with its value and what is accepted', () => {
    expect(() =>
      loadConfig({ FERRY_CLUSTER_NAME: 'prod', AWS_ENDPOINT_URL: 'localhost', FERRY_AWS_CONCURRENCY: '0', FERRY_CLAIM_UNCLASSED: 'yes' }),
    ).toThrow(
      [
        'invalid configuration:',
        '  AWS_ENDPOINT_URL="localhost" is invalid; accepted: an http(s) URL such as http://localhost:4566',
        '  FERRY_CLAIM_UNCLASSED="yes" is invalid; accepted: true or false',
        '  FERRY_AWS_CONCURRENCY="0" is invalid; accepted: a whole number from 1 to 32',
      ].join('\n'),
    );
  });

  test('the read budget takes decimals up to the account refill rate', () => {
    const base = { FERRY_CLUSTER_NAME: 'prod', AWS_REGION: 'us-east-1' };
    expect(loadConfig({ ...base, FERRY_READ_BUDGET: '0.5' }).readBudget).toBe(0.5);
    expect(() => loadConfig({ ...base, FERRY_READ_BUDGET: '20' })).toThrow(
      'FERRY_READ_BUDGET="20" is invalid; accepted: a number from 0.01 to 10 (reads per second; decimals allowed, such as 0.5)',
    );
  });

  test('a region is needed for AWS itself but not for an endpoint', () => {
    expect(() => loadConfig({ FERRY_CLUSTER_NAME: 'prod' })).toThrow(/AWS_REGION is required/);
    expect(loadConfig({ FERRY_CLUSTER_NAME: 'prod', AWS_ENDPOINT_URL: 'http://localhost:4566' }).region).toBe('us-east-1');
  });

  test('defaults', () => {
    expect(loadConfig({ FERRY_CLUSTER_NAME: 'prod', AWS_DEFAULT_REGION: 'eu-west-1', KUBECONFIG: '' })).toEqual({
      clusterName: 'prod',
      kubeconfig: undefined,
      region: 'eu-west-1',
      endpoint: undefined,
      claimUnclassedServices: true,
      vpcId: undefined,
      awsConcurrency: 4,
      nodeHealthPort: 10256,
      controllerUsernames: ['system:serviceaccount:ferry-system:ferry-controller'],
      queueUrl: undefined,
      delayQueueUrl: undefined,
      readBudget: 1,
      resyncIntervalSeconds: 300,
      kubeconfigSecretArn: undefined,
      webhookTokenSecretArn: undefined,
    });
  });
});
