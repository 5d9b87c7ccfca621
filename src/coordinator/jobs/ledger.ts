// The jobs ledger: node job history (spot checks passed/failed, blacklist) and work-unit
// credits, on the coordinator's SQLite file (db.ts migration 2). Credits are buffered and
// written in one transaction per flush (the sweep timer and shutdown), like bytes served.
//
// A work unit is one run of the reference kernel (REFERENCE_KERNEL in src/protocol/jobs.ts) on
// the node that did the work: a task that ran `ms` on a node whose kernel takes `benchMs` is
// worth ms / benchMs units, so a slow router and a fast PC earn the same for the same task.
// An accepted task credits every node of the agreeing group with the smallest claim in the
// group (one node cannot inflate it); a passed spot check credits the node's own claim.
import type { CoordinatorDb } from "../db";
import type { NodeHistory } from "./scheduler";

export class JobLedger {
  private readonly histories = new Map<string, NodeHistory>();
  private readonly dirty = new Set<string>();
  private readonly pending = new Map<string, { units: number; tasks: number }>();

  constructor(
    private readonly db: CoordinatorDb,
    private readonly now: () => number,
  ) {}

  history(node: string): NodeHistory {
    let h = this.histories.get(node);
    if (!h) {
      const row = persistent(node) ? this.db.getJobNode(node) : undefined;
      h = row
        ? { passed: row.passed, failed: row.failed, blacklistedUntil: row.blacklistedUntil }
        : { passed: 0, failed: 0, blacklistedUntil: 0 };
      this.histories.set(node, h);
    }
    return h;
  }

  saveHistory(node: string, h: NodeHistory): void {
    this.histories.set(node, h);
    if (!persistent(node)) return; // a browser session: memory only
    // A catch is written at once (it must survive a crash); passes with the next flush.
    if (h.blacklistedUntil > this.now()) this.db.putJobNode({ did: node, ...h });
    else this.dirty.add(node);
  }

  credit(node: string, jobId: string, units: number): void {
    if (!persistent(node)) return; // browsers have no identity to credit
    const key = `${node}\0${jobId}`;
    const p = this.pending.get(key) ?? { units: 0, tasks: 0 };
    p.units += Math.max(0, units);
    p.tasks += 1;
    this.pending.set(key, p);
  }

  flush(): void {
    if (this.pending.size === 0 && this.dirty.size === 0) return;
    const now = this.now();
    this.db.batch(() => {
      for (const [key, p] of this.pending) {
        const [node, job] = key.split("\0") as [string, string];
        this.db.addJobCredit(node, job, p.units, p.tasks, now);
      }
      for (const node of this.dirty) this.db.putJobNode({ did: node, ...this.history(node) });
    });
    this.pending.clear();
    this.dirty.clear();
  }

  totals(node?: string): { did: string; units: number; tasks: number }[] {
    this.flush();
    return this.db.jobCreditTotals(node);
  }
}

/** Nodes (did:key) persist; browser sessions that run tasks ("browser:…") do not. */
function persistent(node: string): boolean {
  return node.startsWith("did:key:");
}
