// Commit-then-reveal of task results, so replicas cannot copy each other. A node first sends
// job.commit {hash = commitHash(a, nodeId, salt, result)} (src/protocol/jobs.ts); the
// coordinator asks for the reveal (job.reveal) only when every outstanding replica of the task
// has committed, so no result of a task is revealed anywhere while another replica of it could
// still choose its answer. The reveal must hash to the commitment: a node that reveals
// something else has returned garbage and is treated like a node caught lying.
import { commitHash, jobJson } from "../../protocol/jobs";

export type RevealCheck =
  { ok: true; canonical: string } | { ok: false; reason: "not_committed" | "hash_mismatch" };

/** Checks a reveal against the commitment the node made for assignment `a`. */
export function checkReveal(
  a: string,
  nodeId: string,
  committed: string | undefined,
  salt: string,
  result: unknown,
): RevealCheck {
  if (committed === undefined) return { ok: false, reason: "not_committed" };
  if (commitHash(a, nodeId, salt, result) !== committed)
    return { ok: false, reason: "hash_mismatch" };
  return { ok: true, canonical: jobJson(result) };
}

/**
 * Which assignments of a task to ask for reveals now: all committed ones, once none is still
 * running. Returns [] while some replica is still computing.
 */
export function revealsDue<T extends { state: string }>(assignments: Iterable<T>): T[] {
  const list = [...assignments];
  if (list.some((x) => x.state === "running")) return [];
  return list.filter((x) => x.state === "committed");
}
