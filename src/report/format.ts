import type { CallCounter } from '../aws/clients';
import type { Inventory } from '../aws/inventory';
import { describeAction } from '../plan/actions';
import type { ReconcileReport } from '../reconcile/reconciler';

/** Human-readable output of the CLI commands. */

export function formatReport(report: ReconcileReport, calls: CallCounter): string {
  const lines = [`${report.service}: ${report.outcome}${report.message ? ` — ${report.message}` : ''}`];
  for (const a of report.actions) lines.push(`  ${describeAction(a)}`);
  if (report.hostname) lines.push(`  hostname: ${report.hostname}`);
  lines.push(formatCalls(calls));
  return lines.join('\n');
}

export function formatCalls(calls: CallCounter): string {
  const ops = Object.entries(calls.byOperation());
  if (ops.length === 0) return 'AWS calls: none';
  const retries = calls.retries();
  return `AWS calls: ${calls.total()}${retries > 0 ? ` (+${retries} retried)` : ''}\n${ops.map(([op, n]) => `  ${op.padEnd(34)} ${n}`).join('\n')}`;
}

export function formatInventory(inv: Inventory): string {
  const lines: string[] = [];
  const tgName = new Map(inv.targetGroups.map((t) => [t.arn, t.name]));
  for (const lb of inv.loadBalancers) {
    lines.push(`load balancer ${lb.name} (${lb.type}, ${lb.scheme}, ${lb.ipAddressType})`);
    lines.push(`  dns name:        ${lb.dnsName}`);
    lines.push(`  subnets:         ${lb.subnets.join(', ')}`);
    lines.push(`  security groups: ${lb.securityGroups.join(', ') || '-'}`);
    for (const l of lb.listeners) {
      lines.push(`  listener ${l.protocol}:${l.port} → ${tgName.get(l.targetGroupArn ?? '') ?? l.targetGroupArn ?? '-'}`);
    }
  }
  for (const tg of inv.targetGroups) {
    const hc = tg.healthCheck;
    lines.push(`target group ${tg.name} (${tg.protocol}:${tg.port}, ${tg.targetType})`);
    lines.push(`  health check:    ${hc.protocol} ${hc.port}${hc.path ?? ''} every ${hc.intervalSeconds}s`);
    lines.push(`  targets:         ${(tg.targets ?? []).map((t) => `${t.id}:${t.port}`).join(', ') || '-'}`);
  }
  for (const sg of inv.securityGroups) {
    lines.push(`security group ${sg.id} ${sg.name}`);
    for (const r of sg.ingress) lines.push(`  allow ${r.protocol} ${r.fromPort}-${r.toPort} from ${r.cidr}`);
  }
  return lines.length > 0 ? lines.join('\n') : '(no resources)';
}
