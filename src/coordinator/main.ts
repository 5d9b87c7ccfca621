// Entry point: `pear-fog-coordinator --port 8080 --db /var/lib/pear-fog/coordinator.db ...`
// and startCoordinator(opts) for tests and the demo.
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { OPAQUE_ID_RE } from "../protocol/messages";
import { resolveConfig, type CoordinatorOptions } from "./config";
import { signedManifestVerifier, type ManifestVerifier } from "./content";
import { CoordinatorServer } from "./server";

export interface StartOptions extends CoordinatorOptions {
  /** Manifest check for uploads; default signedManifestVerifier. */
  verifier?: ManifestVerifier;
  /** Clock, for tests. Default Date.now. */
  now?: () => number;
}

export interface RunningCoordinator {
  /** Base URL, e.g. "http://127.0.0.1:40123"; WebSockets at ws://…/ws/node and /ws/browser. */
  url: string;
  /** The server object (registry, content index, db) for tests and tooling. */
  server: CoordinatorServer;
  close(): Promise<void>;
}

export async function startCoordinator(opts: StartOptions = {}): Promise<RunningCoordinator> {
  const { verifier = signedManifestVerifier, now, ...rest } = opts;
  const server = new CoordinatorServer(resolveConfig(rest), verifier, now);
  let url: string;
  try {
    url = await server.listen();
  } catch (e) {
    await server.close().catch(() => undefined);
    throw e;
  }
  let closed: Promise<void> | undefined;
  return { url, server, close: () => (closed ??= server.close()) };
}

const USAGE = `usage: pear-fog-coordinator [--port N] [--host ADDR] [--db PATH]
       [--publisher did:key:...]... [--landmark id=url]... [--admin-token TOKEN]
       [--coordinator-id ID] [--stun-port N] [--stun stun:HOST:PORT]...
       [--turn turn:HOST:PORT?transport=udp]... [--turn-ttl SECONDS]
  The TURN secret (coturn static-auth-secret) comes from $PEAR_FOG_TURN_SECRET.`;

export async function main(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        port: { type: "string" },
        host: { type: "string" },
        db: { type: "string" },
        publisher: { type: "string", multiple: true },
        landmark: { type: "string", multiple: true },
        "admin-token": { type: "string" },
        "coordinator-id": { type: "string" },
        "stun-port": { type: "string" },
        stun: { type: "string", multiple: true },
        turn: { type: "string", multiple: true },
        "turn-ttl": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    }));
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const opts: StartOptions = {};
  if (values.port !== undefined) {
    const port = Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      process.stderr.write(`--port: expected 0..65535, got ${values.port}\n`);
      return 2;
    }
    opts.port = port;
  }
  if (values.host !== undefined) opts.host = values.host;
  if (values.db !== undefined) opts.dbPath = values.db;
  if (values.publisher) opts.publishers = values.publisher;
  if (values["admin-token"] !== undefined) opts.adminToken = values["admin-token"];
  if (values["coordinator-id"] !== undefined) opts.coordinatorId = values["coordinator-id"];
  if (values.landmark) {
    opts.landmarks = [];
    for (const l of values.landmark) {
      const eq = l.indexOf("=");
      const id = l.slice(0, eq);
      const url = l.slice(eq + 1);
      if (eq <= 0 || !OPAQUE_ID_RE.test(id) || !/^(https?|wss?):\/\/\S+$/.test(url)) {
        process.stderr.write(`--landmark: expected id=http(s)://..., got ${l}\n`);
        return 2;
      }
      opts.landmarks.push({ id, url });
    }
  }
  // reachability (docs/reachability.md): STUN responder and the ICE servers handed out
  const ice: NonNullable<StartOptions["ice"]> = {};
  if (values["stun-port"] !== undefined) {
    const port = Number(values["stun-port"]);
    if (!Number.isInteger(port) || port < -1 || port > 65535) {
      process.stderr.write(`--stun-port: expected -1..65535, got ${values["stun-port"]}\n`);
      return 2;
    }
    ice.stunPort = port;
  }
  for (const [flag, list, re] of [
    ["--stun", values.stun, /^stuns?:\S+$/],
    ["--turn", values.turn, /^turns?:\S+$/],
  ] as const) {
    for (const u of list ?? []) {
      if (!re.test(u)) {
        process.stderr.write(`${flag}: expected ${flag.slice(2)}:host:port, got ${u}\n`);
        return 2;
      }
    }
  }
  if (values.stun) ice.stun = values.stun;
  if (values.turn) ice.turn = values.turn;
  if (process.env.PEAR_FOG_TURN_SECRET) ice.turnSecret = process.env.PEAR_FOG_TURN_SECRET;
  if (values["turn-ttl"] !== undefined) {
    const ttl = Number(values["turn-ttl"]);
    if (!Number.isInteger(ttl) || ttl <= 0) {
      process.stderr.write(`--turn-ttl: expected seconds > 0, got ${values["turn-ttl"]}\n`);
      return 2;
    }
    ice.turnTtlS = ttl;
  }
  if (ice.turn?.length && !ice.turnSecret) {
    process.stderr.write("--turn needs $PEAR_FOG_TURN_SECRET (coturn static-auth-secret)\n");
    return 2;
  }
  if (Object.keys(ice).length) opts.ice = ice;
  const c = await startCoordinator(opts);
  process.stdout.write(`pear-fog coordinator listening on ${c.url}\n`);
  const stop = () => {
    void c.close().then(() => process.exit(0));
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then(
    (code) => {
      if (code !== 0) process.exit(code);
    },
    (e: unknown) => {
      process.stderr.write(`pear-fog-coordinator: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exit(1);
    },
  );
}
