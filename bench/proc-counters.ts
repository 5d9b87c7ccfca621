// Linux /proc counters the benches read around a phase: a process's CPU time and the kernel's
// UDP receive-buffer drops.
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
