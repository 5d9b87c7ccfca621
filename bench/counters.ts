// Counters the benches read around a phase: from Linux /proc a process's CPU time and the
// kernel's UDP receive-buffer drops; from pear-fogd's status its SCTP loss counters.
import { readFileSync } from "node:fs";

/** utime + stime of a process, seconds (/proc/<pid>/stat fields 14, 15; USER_HZ = 100). */
export function procCpuS(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, "utf8");
    const rest = f.slice(f.lastIndexOf(")") + 2).split(" ");
    return (Number(rest[11]) + Number(rest[12])) / 100;
  } catch {
    return 0;
  }
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
