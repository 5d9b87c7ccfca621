// Counters the benches read around a phase: from Linux /proc a process's (or some of its
// threads') CPU time and the kernel's UDP receive-buffer drops; from pear-fogd's status its SCTP
// loss counters.
import { readdirSync, readFileSync } from "node:fs";

/** utime + stime from a /proc stat file, seconds (fields 14, 15; USER_HZ = 100); 0 if gone. */
function statCpuS(path: string): number {
  try {
    const f = readFileSync(path, "utf8");
    const rest = f.slice(f.lastIndexOf(")") + 2).split(" ");
    return (Number(rest[11]) + Number(rest[12])) / 100;
  } catch {
    return 0;
  }
}

/** utime + stime of a process, all its threads, seconds. */
export function procCpuS(pid: number): number {
  return statCpuS(`/proc/${pid}/stat`);
}

/**
 * utime + stime of those threads of `pid` whose name (/proc/<pid>/task/<tid>/comm, at most 15
 * characters) starts with `prefix`, seconds; e.g. "PeerConnectionF" for the threads of
 * libwebrtc's PeerConnectionFactory in an @roamhq/wrtc process (network, worker, signalling).
 */
export function threadsCpuS(pid: number | "self", prefix: string): number {
  let sum = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      if (!readFileSync(`/proc/${pid}/task/${tid}/comm`, "utf8").startsWith(prefix)) continue;
    } catch {
      continue; // the thread ended
    }
    sum += statCpuS(`/proc/${pid}/task/${tid}/stat`);
  }
  return sum;
}

/**
 * The kernel's UDP RcvbufErrors counter, all sockets (/proc/net/snmp): datagrams dropped
 * because the receiving socket's buffer was full.
 */
export function udpRcvbufErrors(): number {
  const lines = readFileSync("/proc/net/snmp", "utf8")
    .split("\n")
    .filter((l) => l.startsWith("Udp:"));
  const names = lines[0]!.split(/\s+/);
  const values = lines[1]!.split(/\s+/);
  return Number(values[names.indexOf("RcvbufErrors")]);
}

/**
 * pear-fogd's SCTP counters from its status (members `sctp_<name>_total`, usrsctp's stack-wide
 * counts: data_chunks_sent, data_chunks_retransmitted, fast_retransmits, t3_timeouts), by name.
 */
export function sctpCounters(status: Record<string, unknown>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(status)) {
    const m = /^sctp_(\w+)_total$/.exec(k);
    if (m && typeof v === "number") out[m[1]!] = v;
  }
  return out;
}
