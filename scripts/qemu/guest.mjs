// Boots a QEMU test image (scripts/qemu/image.mjs) and drives it over its serial console.
//
// The console is QEMU's stdio. The guest's /init prints "PF-…" marker lines and then runs a
// shell on the console without echo; run(cmd) sends one command line followed by an end marker
// and returns the output and exit status. Everything is judged by these markers, never by
// QEMU's exit code (QEMU exits 0 even after a guest panic).
import { spawn } from "node:child_process";
import { createSocket } from "node:dgram";
import { createServer } from "node:net";

/** A TCP or UDP port that was free on 127.0.0.1 a moment ago. */
export function freePort(proto = "tcp") {
  return new Promise((resolve, reject) => {
    if (proto === "udp") {
      const s = createSocket("udp4");
      s.once("error", reject);
      s.bind(0, "127.0.0.1", () => {
        const { port } = s.address();
        s.close(() => resolve(port));
      });
      return;
    }
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Shell single-quoting. */
export function sq(s) {
  return `'${String(s).replace(/'/g, `'\\''`)}'`;
}

export class GuestError extends Error {
  constructor(message, guest) {
    super(`${message}\n--- guest console (last 60 lines) ---\n${guest.tail(60)}\n---`);
    this.guest = guest;
  }
}

/**
 * Starts QEMU for `image` ({ arch, kernel, initrd }). `forward`: [{ proto, host, guest }]
 * host ports on 127.0.0.1 forwarded to the guest (QEMU user networking; the guest sees the
 * host's loopback as 10.0.2.2). Resolves when the guest printed PF-READY.
 */
export async function bootGuest(
  image,
  { forward = [], readyTimeoutMs = 60_000, cmdline = "" } = {},
) {
  const a = image.arch;
  const fwd = forward.map((f) => `,hostfwd=${f.proto}:127.0.0.1:${f.host}-:${f.guest}`).join("");
  const argv = [
    ...a.machine,
    "-m",
    String(a.memory),
    "-display",
    "none",
    "-monitor",
    "none",
    "-serial",
    "stdio",
    "-no-reboot",
    "-kernel",
    image.kernel,
    "-initrd",
    image.initrd,
    "-append",
    `console=${a.console} rdinit=/init panic=-1 quiet loglevel=3 ${cmdline}`.trim(),
    "-netdev",
    `user,id=n0,net=10.0.2.0/24${fwd}`,
  ];
  const t0 = Date.now();
  const proc = spawn(a.system, argv, { stdio: ["pipe", "pipe", "pipe"] });
  const g = new Guest(proc, a, argv);
  await g.waitFor(/PF-READY[^\n]*\n/, readyTimeoutMs, "boot");
  g.bootMs = Date.now() - t0;
  const init = /PF-INIT uptime=([\d.]+)/.exec(g.text);
  const ready = /PF-READY uptime=([\d.]+)/.exec(g.text);
  g.guestBootS = ready ? Number(ready[1]) : null;
  g.guestInitS = init ? Number(init[1]) : null;
  // first command: syncs with the shell (and absorbs an echo, if the shell was not up yet)
  await g.run("true", { timeoutMs: 20_000 });
  return g;
}

export class Guest {
  constructor(proc, arch, argv) {
    this.proc = proc;
    this.arch = arch;
    this.argv = argv;
    this.text = "";
    this.stderr = "";
    this.exited = null;
    this.seq = 0;
    this.waiters = new Set();
    proc.stdout.setEncoding("utf8");
    proc.stderr.setEncoding("utf8");
    proc.stdout.on("data", (d) => {
      this.text += d.replace(/\r/g, "");
      for (const w of this.waiters) w();
    });
    proc.stderr.on("data", (d) => (this.stderr += d));
    proc.on("exit", (code, signal) => {
      this.exited = { code, signal };
      for (const w of this.waiters) w();
    });
  }

  /** Last `n` console lines (and QEMU's stderr, if any). */
  tail(n = 40) {
    const lines = this.text.split("\n").slice(-n).join("\n");
    const err = this.stderr.trim() ? `\n[qemu stderr] ${this.stderr.trim().slice(-2000)}` : "";
    const ex = this.exited ? `\n[qemu exited: ${JSON.stringify(this.exited)}]` : "";
    return lines + err + ex;
  }

  /** Waits for `re` in the console text after offset `from`; returns the match. */
  waitFor(re, timeoutMs = 30_000, what = String(re), from = 0) {
    return new Promise((resolve, reject) => {
      const check = () => {
        const m = re.exec(this.text.slice(from));
        if (m) {
          done();
          m.end = from + m.index + m[0].length;
          m.start = from + m.index;
          resolve(m);
        } else if (this.exited) {
          done();
          reject(new GuestError(`QEMU exited while waiting for ${what}`, this));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new GuestError(`no ${what} on the console in ${timeoutMs} ms`, this));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  /**
   * Runs one shell command line in the guest; resolves { out, rc }. The command must be one
   * line (use ; and &&). Long arguments: see putFile.
   */
  async run(cmd, { timeoutMs = 30_000, check = false } = {}) {
    const id = ++this.seq;
    const from = this.text.length;
    // "PF-END" "N" in the command line prints as PF-END N: an echoed command never matches.
    this.proc.stdin.write(`${cmd}\necho "PF-END" "${id}" $?\n`);
    const m = await this.waitFor(
      new RegExp(`PF-END ${id} (\\d+)\\n`),
      timeoutMs,
      `end of '${cmd.slice(0, 80)}'`,
      from,
    );
    const out = this.text.slice(from, m.start);
    const rc = Number(m[1]);
    if (check && rc !== 0) throw new GuestError(`'${cmd}' exited ${rc}:\n${out}`, this);
    return { out, rc };
  }

  /** Writes `data` to `path` in the guest through the console (base64 in short lines). */
  async putFile(path, data) {
    const b64 = Buffer.from(data).toString("base64");
    await this.run(`: > ${sq(path)}.b64`, { check: true });
    for (let i = 0; i < b64.length; i += 900) {
      await this.run(`echo ${b64.slice(i, i + 900)} >> ${sq(path)}.b64`, { check: true });
    }
    await this.run(`base64 -d ${sq(path)}.b64 > ${sq(path)} && rm ${sq(path)}.b64`, {
      check: true,
    });
  }

  /** Powers the guest off (poweroff -f) and waits for QEMU; kills it after `ms`. */
  async stop(ms = 5000) {
    if (this.exited) return this.exited;
    this.proc.stdin.write("\npoweroff -f\n");
    const exited = new Promise((r) => this.proc.once("exit", () => r(this.exited)));
    const t = setTimeout(() => this.proc.kill("SIGKILL"), ms);
    await exited;
    clearTimeout(t);
    return this.exited;
  }
}
