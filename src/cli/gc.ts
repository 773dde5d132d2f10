import { loadConfig } from '../config/env';
import { collectGarbage } from '../reconcile/gc';
import { formatCalls } from '../report/format';
import { connect } from '../wiring/connect';

/** `ferry gc`: delete this cluster's orphaned load balancers, target groups and security groups. */
export async function gcCommand(): Promise<number> {
  const ferry = connect(loadConfig());
  try {
    const report = await collectGarbage(ferry.kube, ferry.aws, ferry.config);
    for (const s of report.services) {
      console.log(`${s.service}: ${s.error ? `not collected — ${s.error}` : `collected`}`);
      for (const d of s.deleted) console.log(`  ${d}`);
    }
    if (report.services.length === 0) console.log('no orphaned resources');
    console.log(formatCalls(ferry.aws.calls));
    return report.services.some((s) => s.error) ? 1 : 0;
  } finally {
    ferry.close();
  }
}
