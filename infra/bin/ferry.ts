#!/usr/bin/env node
// The CDK app (cdk.json runs it with tsx): one stack, configured from context; see infra/app.ts.
import { App } from 'aws-cdk-lib';
import { ContextError, createFerryStack } from '../app';

const app = new App();
try {
  createFerryStack(app);
} catch (err) {
  // A missing or bad context value is a usage error: print the message, not a stack trace.
  if (err instanceof ContextError) {
    console.error(`ferry: ${err.message}`);
    process.exit(1);
  }
  throw err;
}
app.synth();
