// A NAT world for the connect matrix and bench/nat.ts: the lab (lab.ts) with two sites — the
// browser (libwebrtc, wrtc-peer.ts) behind site 0 and pear-fogd behind site 1 — and, on the
// internet namespace, the coordinator's STUN responder (198.51.100.2:3478) and coturn
// (198.51.100.3:3478, use-auth-secret: credentials minted by iceServersFor as the coordinator
// does). Signalling is what the coordinator + agent relay, done directly: the offer goes to
// pear-fogd's control socket (a unix socket: the file system is shared across namespaces),
// the answer back, and every candidate the browser trickles becomes a ctl `candidate`.
import { createHash, randomBytes } from "node:crypto";
import { once } from "node:events";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import type { ChildProcess } from "node:child_process";
import { CtlClient } from "../../src/platform/node/ctl-client";
import { iceServersFor, type IceServersConfig } from "../../src/coordinator/stun";
import { buildPearFogd } from "../support/pear-fogd";
import { createLab, INET_IPS, type Lab, type NatClass } from "./lab";

const HERE = import.meta.dirname;
export const STUN_ADDR = `${INET_IPS[0]}:3478`;
/** A second port of the same responder: a symmetric NAT maps it apart (reachability). */
export const STUN_ADDR2 = `${INET_IPS[0]}:3479`;
export const TURN_ADDR = `${INET_IPS[1]}:3478`;
const TURN_SECRET = randomBytes(16).toString("hex");

export interface PairResult {
  browserNat: NatClass;
  nodeNat: NatClass;
  connected: boolean;
  /** The selected pair used a TURN relay (the browser's local candidate type "relay"). */
  relayed: boolean;
  local: string;
  remote: string;
  connectMs: number;
  /** The first selected pair ("local/remote" candidate types) — before any switch. */
  initial: string;
  /** What pear-fogd reported as its reachability (ctl status), once it had its mappings. */
  nodeReachability: string;
  /** With UPnP upstream: the gateway's mapping was gone after pear-fogd stopped. */
  mappingRemoved?: boolean;
  /** With UPnP upstream: "PCP", "UPnP-IGD" or "NAT-PMP", what pear-fogd mapped its port with. */
  mappedWith?: string;
  /** How long after the first fetch ICE took to leave the relay (0: never on one, -1: stayed). */
  settleMs: number;
  error?: string;
}

/**
 * Can the pair connect without a relay? Both NATs map endpoint-independently, or one does and
 * the other side's filtering lets in what arrives from a new port of an address it has sent to
 * (address-restricted or full-cone). A symmetric NAT facing a port-restricted (or symmetric)
 * one needs TURN: neither side can predict the port the symmetric NAT will pick.
 */
export function directPossible(a: NatClass, b: NatClass): boolean {
  if (a === "symmetric" && b === "symmetric") return false;
  if (a === "symmetric") return b !== "port-restricted";
  if (b === "symmetric") return a !== "port-restricted";
  return true;
}

export interface World {
  lab: Lab;
  runPair(
    browserNat: NatClass,
    nodeNat: NatClass,
    timeoutMs?: number,
    opts?: { nodeUpnp?: boolean; portMapping?: string },
  ): Promise<PairResult>;
  close(): Promise<void>;
}

function lines(p: ChildProcess, onLine: (l: string) => void): void {
  createInterface({ input: p.stdout! }).on("line", onLine);
}

async function waitFor(p: ChildProcess, re: RegExp, what: string, ms = 15_000): Promise<string> {
  let buf = "";
  return new Promise((res, rej) => {
    const t = setTimeout(() => rej(new Error(`${what}: no ${re} in ${ms} ms:\n${buf}`)), ms);
    const on = (d: Buffer) => {
      buf += d.toString();
      const m = re.exec(buf);
      if (m) {
        clearTimeout(t);
        p.stdout?.off("data", on);
        p.stderr?.off("data", on);
        res(m[0]);
      }
    };
    p.stdout?.on("data", on);
    p.stderr?.on("data", on);
    p.once("exit", (c) => {
      clearTimeout(t);
      rej(new Error(`${what} exited (${c}):\n${buf}`));
    });
  });
}

async function stop(p: ChildProcess | undefined): Promise<void> {
  if (!p || p.exitCode !== null || p.signalCode !== null) return;
  const gone = once(p, "exit");
  p.kill("SIGTERM");
  const t = setTimeout(() => p.kill("SIGKILL"), 3000);
  await gone;
  clearTimeout(t);
}

/** build: "san" (tests: ASan + UBSan) or "release" (the bench). */
export async function createWorld(build: "san" | "release" = "san"): Promise<World> {
  const bin = buildPearFogd(build);
  const lab = createLab(["full-cone", "full-cone"]);
  const dir = mkdtempSync(join(tmpdir(), "pear-fog-nat-"));
  const procs: ChildProcess[] = [];
  let turnLog = "";
  const close = async () => {
    for (const p of procs.splice(0)) await stop(p);
    lab.destroy();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const stun = lab.spawn(lab.inetNs, process.execPath, [
      "--import",
      "tsx",
      resolve(HERE, "stun-server.ts"),
      INET_IPS[0],
      "3478",
      "3479",
    ]);
    procs.push(stun);
    await waitFor(stun, /ready/, "STUN server");
    const turn = lab.spawn(lab.inetNs, "turnserver", [
      "-n",
      `--listening-ip=${INET_IPS[1]}`,
      `--relay-ip=${INET_IPS[1]}`,
      "--listening-port=3478",
      "--use-auth-secret",
      `--static-auth-secret=${TURN_SECRET}`,
      "--realm=pear-fog.test",
      "--no-tls",
      "--no-dtls",
      "--no-tcp",
      "--no-cli",
      "--no-tcp-relay",
      "--min-port=40000",
      "--max-port=40999",
      `--pidfile=${join(dir, "turn.pid")}`,
      `--db=${join(dir, "turndb")}`,
      "--log-file=stdout",
      "--simple-log",
      ...(process.env.NAT_DEBUG ? ["--verbose"] : []),
    ]);
    procs.push(turn);
    turn.stdout!.on("data", (d: Buffer) => (turnLog = (turnLog + d.toString()).slice(-20000)));
    await waitFor(
      turn,
      /Total (UDP|General) servers|IPv4\. UDP listener opened|listener opened/,
      "coturn",
    );
  } catch (err) {
    await close();
    throw err;
  }
  const ice: IceServersConfig = {
    stun: [`stun:${STUN_ADDR}`],
    turn: [`turn:${TURN_ADDR}?transport=udp`],
    turnSecret: TURN_SECRET,
    turnTtlS: 3600,
  };
  let n = 0;

  async function runPair(
    browserNat: NatClass,
    nodeNat: NatClass,
    timeoutMs = 20_000,
    opts: { nodeUpnp?: boolean; portMapping?: string } = {},
  ) {
    const upnp = opts.nodeUpnp ?? false;
    lab.setNat(0, browserNat);
    lab.setNat(1, nodeNat, upnp);
    await lab.upnpReady(1);
    const node = lab.sites[1]!;
    const nd = join(dir, `n${n++}`);
    mkdirSync(nd);
    const result: PairResult = {
      browserNat,
      nodeNat,
      connected: false,
      relayed: false,
      local: "?",
      remote: "?",
      connectMs: 0,
      initial: "?",
      settleMs: 0,
      nodeReachability: "?",
    };
    let fogd: ChildProcess | undefined;
    let fogdLog = "";
    let peer: ChildProcess | undefined;
    let ctl: CtlClient | undefined;
    try {
      fogd = lab.spawn(node.hostNs, bin, [
        "--store-path",
        join(nd, "store"),
        "--ctl-socket",
        join(nd, "ctl.sock"),
        "--bind",
        "0.0.0.0",
        "--rtc-address",
        node.hostIp,
        "--rtc-port",
        "0",
        "--http-port",
        "0",
        "--stun-server",
        `${STUN_ADDR},${STUN_ADDR2}`,
        "--log-level",
        "debug",
        "--port-mapping",
        opts.portMapping ?? "auto",
      ]);
      fogd.stdout!.resume();
      fogd.stderr!.on("data", (d: Buffer) => (fogdLog += d.toString()));
      // ready, then the server-reflexive address from the STUN client (needed in the answer)
      await waitFor(fogd, /server-reflexive address \S+/, "pear-fogd");
      if (upnp) {
        // from everything pear-fogd logged (the line may precede the STUN one)
        for (let i = 0; !/(PCP|NAT-PMP|UPnP-IGD): \S+ -> port/.test(fogdLog); i++) {
          if (i > 250) throw new Error(`pear-fogd: no port mapping in 5 s:\n${fogdLog}`);
          await new Promise((r) => setTimeout(r, 20));
        }
        result.mappedWith = /(PCP|NAT-PMP|UPnP-IGD): \S+ -> port/.exec(fogdLog)![1];
      }
      ctl = await CtlClient.connect(join(nd, "ctl.sock"));
      // both STUN ports answered (a symmetric NAT logs two addresses, a cone one the same)
      for (let i = 0; i < 50; i++) {
        const st = await ctl.request("status");
        result.nodeReachability = String(st.reachability);
        if (Array.isArray(st.srflx) && st.srflx.length === 2 && (!upnp || st.port_mapping)) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      const chunk = randomBytes(100_000);
      const id = createHash("sha256").update(chunk).digest("hex");
      writeFileSync(join(nd, "stage"), chunk);
      await ctl.request("chunk_put", { chunk: id, path: join(nd, "stage") });

      peer = lab.spawn(lab.sites[0]!.hostNs, process.execPath, [
        "--import",
        "tsx",
        resolve(HERE, "wrtc-peer.ts"),
      ]);
      peer.stderr!.resume();
      let session: string | undefined;
      const early: string[] = [];
      const c = ctl;
      const got = new Promise<Record<string, unknown>>((res, rej) => {
        lines(peer!, (line) => {
          const m = JSON.parse(line) as Record<string, unknown>;
          if (m.t === "offer") {
            c.request("offer", { sdp: m.sdp }).then((r) => {
              session = r.session as string;
              peer!.stdin!.write(JSON.stringify({ t: "answer", sdp: r.sdp }) + "\n");
              for (const cand of early.splice(0))
                void c.request("candidate", { session, candidate: cand }).catch(() => undefined);
              peer!.stdin!.write(
                JSON.stringify({ t: "get", chunk: id, timeoutMs, settleMs: 5000 }) + "\n",
              );
            }, rej);
          } else if (m.t === "candidate") {
            if (!session) early.push(m.candidate as string);
            else
              void c
                .request("candidate", { session, candidate: m.candidate })
                .catch(() => undefined);
          } else if (m.t === "got") res(m);
          else if (m.t === "error") rej(new Error(m.message as string));
        });
      });
      peer.stdin!.write(
        JSON.stringify({ t: "start", iceServers: iceServersFor(ice, `b${n}`, Date.now()) }) + "\n",
      );
      const r = await got;
      if (r.sha256 !== id) throw new Error(`hash mismatch: ${String(r.sha256)}`);
      result.connected = true;
      result.local = r.local as string;
      result.remote = r.remote as string;
      result.relayed = result.local === "relay" || result.remote === "relay";
      result.connectMs = r.connectMs as number;
      result.initial = r.initial as string;
      result.settleMs = r.settleMs as number;
    } catch (err) {
      result.error = err instanceof Error ? err.message : String(err);
      if (process.env.NAT_DEBUG)
        result.error += `\n--- pear-fogd:\n${fogdLog.slice(-4000)}\n--- coturn:\n${turnLog.slice(-3000)}`;
    } finally {
      ctl?.close();
      peer?.stdin?.end();
      await stop(peer);
      await stop(fogd);
    }
    if (upnp) {
      // pear-fogd deletes its mapping when it stops (RFC 6886 §3.4): miniupnpd's DNAT is gone
      const rules = () =>
        lab.exec(node.natNs, "nft", ["list", "chain", "inet", "filter", "prerouting_miniupnpd"]);
      for (let i = 0; i < 50 && / dnat /.test(rules()); i++)
        await new Promise((r) => setTimeout(r, 20));
      result.mappingRemoved = !/ dnat /.test(rules());
    }
    return result;
  }

  return { lab, runPair, close };
}
