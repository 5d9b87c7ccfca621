// Job options (the coordinator's `jobs` group, src/coordinator/config.ts): one defaults object,
// every option with its default and unit. docs/jobs.md explains the acceptance rule they tune.

export interface JobsConfig {
  /**
   * Upper bound on the fraction of nodes assumed to be saboteurs (Sarmenta's f): an unchecked
   * node's credibility is 1 − f. 0..1. Default 0.2.
   */
  saboteurFraction: number;
  /** Probability that a node is given a spot check (a task with a known answer) before a real task. Default 0.1. */
  spotCheckRate: number;
  /** Credibility a result must reach when the job does not say (θ = 1 − ε). Default 0.999. */
  defaultCredibility: number;
  /** Answers collected per task at least, when the job does not say. Default 2 (count). */
  defaultReplicas: number;
  /** Failed attempts (throw, timeout, memory) per task before it fails, default. Default 3 (count). */
  defaultRetries: number;
  /** Task heap limit when the job does not say, bytes. Default 64 MiB. */
  defaultMemoryBytes: number;
  /** Task CPU time limit when the job does not say, milliseconds. Default 30000. */
  defaultTimeoutMs: number;
  /** Time an assignment may take beyond its CPU limit (transfer, queueing), milliseconds. Default 10000. */
  assignmentGraceMs: number;
  /** A committed assignment must reveal within this long after being asked, milliseconds. Default 10000. */
  revealTimeoutMs: number;
  /** Assignments in flight per advertised slot (the node queues the rest). Default 2 (count). */
  inFlightPerSlot: number;
  /** A node caught with a wrong result gets no tasks for this long, milliseconds. Default 86400000 (24 h). */
  blacklistMs: number;
  /** Finished jobs (and their results) are kept this long, milliseconds. Default 3600000 (1 h). */
  keepDoneMs: number;
  /** Tasks of unfinished jobs at most, all owners together (count); more is refused (503). Default 200000. */
  maxQueuedTasks: number;
  /** Unfinished jobs per owner at most (count). Default 16. */
  maxJobsPerOwner: number;
  /** Spot checks per job at most, as a multiple of its task count. Default 1. */
  maxSpotChecksPerTask: number;
  /** Job messages (commit, result, fail) a node may send, sustained, messages/s. Default 1000. */
  messagesPerSec: number;
  /** Burst of job messages per node, messages. Default 2000. */
  messagesBurst: number;
}

export const JOBS_DEFAULTS: JobsConfig = {
  saboteurFraction: 0.2,
  spotCheckRate: 0.1,
  defaultCredibility: 0.999,
  defaultReplicas: 2,
  defaultRetries: 3,
  defaultMemoryBytes: 64 * 1024 * 1024,
  defaultTimeoutMs: 30_000,
  assignmentGraceMs: 10_000,
  revealTimeoutMs: 10_000,
  inFlightPerSlot: 2,
  blacklistMs: 86_400_000,
  keepDoneMs: 3_600_000,
  maxQueuedTasks: 200_000,
  maxJobsPerOwner: 16,
  maxSpotChecksPerTask: 1,
  messagesPerSec: 1000,
  messagesBurst: 2000,
};
