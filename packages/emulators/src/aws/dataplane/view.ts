import type { LoadBalancer, Target, TargetGroup } from '../state';
import type { XmlValue } from '../xml';
import type { HealthView } from './topology';

/**
 * What the ELBv2 and EC2 handlers ask of the data plane when one runs
 * (`state.dataPlane`); with none, they keep their instant answers.
 */
export interface DataPlaneView {
  /** `LoadBalancerAddresses` of an NLB's node in one subnet. */
  loadBalancerAddresses(lb: LoadBalancer, subnetId: string): XmlValue;
  /** VPC addresses the NLB nodes hold in a subnet: RunInstances must not hand them out. */
  reservedAddresses(subnetId: string): readonly string[];
  /** DescribeTargetHealth's answer for a registered target, from real health checks. */
  targetHealth(tg: TargetGroup, target: Target): HealthView;
  /** Deregistered targets still draining, which DescribeTargetHealth lists too. */
  drainingTargets(tg: TargetGroup): readonly Target[];
}
