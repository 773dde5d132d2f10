import { App, CfnElement, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { FerryController, type FerryControllerProps } from '../../infra/ferry-controller';

/**
 * A fast App for template assertions: no esbuild run (bundling-stacks empty: the functions get
 * a placeholder asset), no built-in CloudFormation validation (~1.5 s per process), no stack
 * traces in construct metadata. ~0.2 s per synth instead of ~2 s.
 */
export function fastApp(context: Record<string, unknown> = {}): App {
  return new App({
    context: { 'aws:cdk:bundling-stacks': [], ...context },
    builtinCloudFormationValidation: false,
    stackTraces: false,
    treeMetadata: false,
  });
}

export const ACCOUNT = '123456789012';
export const REGION = 'eu-west-1';

export function synthController(props: Partial<FerryControllerProps> = {}): {
  template: Template;
  controller: FerryController;
  stack: Stack;
} {
  const stack = new Stack(fastApp(), 'Test', { env: { account: ACCOUNT, region: REGION } });
  const controller = new FerryController(stack, 'Ferry', { clusterName: 'prod-eu', ...props });
  return { template: Template.fromStack(stack), controller, stack };
}

type Json = Record<string, any>;

/** Every IAM policy document statement in a template (managed, inline and default policies). */
export function allStatements(template: Template): Json[] {
  const out: Json[] = [];
  for (const type of ['AWS::IAM::Policy', 'AWS::IAM::ManagedPolicy']) {
    for (const r of Object.values(template.findResources(type))) out.push(...(r.Properties.PolicyDocument.Statement as Json[]));
  }
  return out;
}

export const asArray = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** The logical id a construct's CloudFormation resource gets in the template. */
export function idOf(construct: IConstruct): string {
  const resource = construct instanceof CfnElement ? construct : construct.node.defaultChild;
  if (!(resource instanceof CfnElement)) throw new Error(`${construct.node.path} has no CloudFormation resource`);
  return Stack.of(construct).resolve(resource.logicalId) as string;
}
