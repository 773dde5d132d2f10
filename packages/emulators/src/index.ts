/**
 * `@ferry/emulators`: the embedded AWS (EC2, ELBv2, the Resource Groups Tagging API, SQS, Secrets Manager) and Kubernetes API
 * servers that `ferry local`, the test suite and the benchmarks use in place of the real
 * services. A development package: the product's build and its Lambda bundles never include it.
 */
export * from './aws';
export * from './kube';
