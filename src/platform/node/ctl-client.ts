// Client for pear-fogd's control socket (unix stream, JSON lines; see
// libs/webrtc-native/src/ctl.h for the wire format). Used by the agent on Node and by tests.
import { connect, type Socket } from "node:net";

/** Options for {@link CtlClient.connect}. */
export interface CtlClientOptions {
  /** Per-request timeout, milliseconds. Default 5000. */
  timeoutMs?: number;
}

export const CTL_CLIENT_DEFAULTS: Required<CtlClientOptions> = {
  timeoutMs: 5000,
};

/** pear-fogd answered `ok:false`, or the request could not be completed. */
export class CtlError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly op: string,
  ) {
    super(`pear-fogd ${op}: ${code}: ${message}`);
    this.name = "CtlError";
  }
}

type Reply = Record<string, unknown> & { id: number; ok: boolean };

interface Pending {
  op: string;
  resolve: (r: Reply) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export class CtlClient {
  private nextId = 1;
  private buf = "";
  private readonly pending = new Map<number, Pending>();

  private constructor(
    private readonly sock: Socket,
    private readonly opts: Required<CtlClientOptions>,
  ) {
    sock.setEncoding("utf8");
    sock.on("data", (d: string) => this.onData(d));
    sock.on("close", () => this.failAll(new CtlError("closed", "control socket closed", "*")));
    sock.on("error", (e) => this.failAll(new CtlError("io", e.message, "*")));
  }

  static connect(path: string, options: CtlClientOptions = {}): Promise<CtlClient> {
    const opts = { ...CTL_CLIENT_DEFAULTS, ...options };
    return new Promise((resolve, reject) => {
      const sock = connect(path);
      sock.once("connect", () => {
        sock.removeListener("error", reject);
        resolve(new CtlClient(sock, opts));
      });
      sock.once("error", reject);
    });
  }

  /** Send one operation; resolves with the reply's fields, rejects with CtlError. */
  request(op: string, fields: Record<string, unknown> = {}): Promise<Reply> {
    const id = this.nextId++;
    const line = JSON.stringify({ ...fields, id, op }) + "\n";
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new CtlError("timeout", `no reply in ${this.opts.timeoutMs} ms`, op));
      }, this.opts.timeoutMs);
      this.pending.set(id, { op, resolve, reject, timer });
      this.sock.write(line);
    });
  }

  close(): void {
    this.sock.destroy();
  }

  private onData(d: string): void {
    this.buf += d;
    let nl: number;
    while ((nl = this.buf.indexOf("\n")) >= 0) {
      const line = this.buf.slice(0, nl);
      this.buf = this.buf.slice(nl + 1);
      let reply: Reply;
      try {
        reply = JSON.parse(line) as Reply;
      } catch {
        this.failAll(new CtlError("bad_reply", `unparsable line: ${line.slice(0, 80)}`, "*"));
        return;
      }
      const p = this.pending.get(reply.id);
      if (!p) continue;
      this.pending.delete(reply.id);
      clearTimeout(p.timer);
      if (reply.ok) p.resolve(reply);
      else p.reject(new CtlError(String(reply.error), String(reply.message), p.op));
    }
  }

  private failAll(err: Error): void {
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(err);
      this.pending.delete(id);
    }
  }
}
