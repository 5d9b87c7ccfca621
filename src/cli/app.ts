// `pear-fog app deploy|update|start|stop|delete|status|logs`: edge-compute apps through the
// coordinator's REST API (src/coordinator/apps/rest.ts, docs/apps.md). Requests are signed with
// the developer's key (api-auth.ts); deploy/update sign the app manifest with it too.
import { readFileSync } from "node:fs";
import { signApiRequest } from "../coordinator/api-auth";
import { signApp, type AppCapabilities, type AppResources } from "../protocol/app";
import { parseKeyFile, type KeyPair } from "../protocol/ed25519";
import { parseCommandArgs, requireString } from "./args";
import { CliError, oneLine, UsageError } from "./errors";

export const APP_HELP = `usage: pear-fog app <deploy|update> <bundle.js> --app <app.json> --key <key> --coordinator <url> [--node <id>] [--wait]
       pear-fog app <start|stop|delete|status|logs> [name] --key <key> --coordinator <url> [--wait]

  app.json         {"name", "version", "resources": {"memoryMiB", "cpuShares", "uploadKiBps",
                   "storageMiB"}, "capabilities": {"kv"?, "fetch"?: [hosts], "messages"?, "wifi"?}}
                   signed here with --key (the developer's did:key) with the bundle's SHA-256
  --key <path>     developer key file from 'pear-fog keygen' (registered as a publisher)
  --coordinator    the coordinator's base URL, e.g. http://coordinator:8080
  --node <id>      deploy to this node (default: the coordinator picks one)
  --wait           deploy/update/start/stop: wait until the app is running / stopped / failed
                   (exit 1 if it failed; up to 30 s)
  status without a name lists your apps. Output is JSON.
`;

interface Ctx {
  base: string;
  key: KeyPair;
}

async function call(c: Ctx, method: string, path: string, body?: unknown): Promise<unknown> {
  const bytes =
    body === undefined ? new Uint8Array() : new TextEncoder().encode(JSON.stringify(body));
  const auth = signApiRequest(c.key.did, c.key.seed, method, path, bytes);
  let res: Response;
  try {
    res = await fetch(`${c.base}${path}`, {
      method,
      headers: { authorization: auth, "content-type": "application/json" },
      ...(body === undefined ? {} : { body: bytes }),
    });
  } catch (e) {
    throw new CliError(`app: ${method} ${path}`, oneLine(e));
  }
  const text = await res.text();
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch {
    j = text;
  }
  if (!res.ok) {
    const err = j as { error?: string; detail?: string };
    throw new CliError(
      `app: ${method} ${path}`,
      `${res.status} ${err.error ?? ""}: ${err.detail ?? text}`,
    );
  }
  return j;
}

async function waitState(
  c: Ctx,
  name: string,
  want: (s: string) => boolean,
): Promise<{ state: string }> {
  const end = Date.now() + 30_000;
  for (;;) {
    const v = (await call(c, "GET", `/api/apps/${name}`)) as { state: string };
    if (want(v.state) || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function appCommand(argv: string[], out: (s: string) => void): Promise<number> {
  const p = parseCommandArgs("app", argv, {
    app: { type: "string" },
    key: { type: "string" },
    coordinator: { type: "string" },
    node: { type: "string" },
    wait: { type: "boolean" },
  });
  if (p.values.help) {
    out(APP_HELP);
    return 0;
  }
  const [sub, arg] = p.positionals;
  const subs = ["deploy", "update", "start", "stop", "delete", "status", "logs"];
  if (!sub || !subs.includes(sub)) throw new UsageError("app", `expected one of ${subs.join("|")}`);
  const keyPath = requireString("app", p, "key");
  let key: KeyPair;
  try {
    key = parseKeyFile(readFileSync(keyPath, "utf8").slice(0, 8192));
  } catch (e) {
    throw new CliError(`app --key ${keyPath}`, oneLine(e));
  }
  const c: Ctx = { base: requireString("app", p, "coordinator").replace(/\/+$/, ""), key };
  const print = (v: unknown): void => out(`${JSON.stringify(v, null, 2)}\n`);
  const wait = p.values.wait === true;
  const settled = (s: string): boolean => s !== "deploying";

  if (sub === "deploy" || sub === "update") {
    if (!arg) throw new UsageError("app", `${sub} needs the bundle file`);
    const appPath = requireString("app", p, "app");
    let bundle: Uint8Array;
    let desc: {
      name: string;
      version: string;
      resources: AppResources;
      capabilities?: AppCapabilities;
    };
    try {
      bundle = new Uint8Array(readFileSync(arg));
      desc = JSON.parse(readFileSync(appPath, "utf8")) as typeof desc;
    } catch (e) {
      throw new CliError(`app ${sub}`, oneLine(e));
    }
    let manifest;
    try {
      manifest = signApp({ ...desc, capabilities: desc.capabilities ?? {} }, bundle, key);
    } catch (e) {
      throw new CliError(`app ${sub} --app ${appPath}`, oneLine(e));
    }
    const body = {
      manifest,
      bundle: Buffer.from(bundle).toString("base64"),
      ...(typeof p.values.node === "string" ? { node: p.values.node } : {}),
    };
    const r =
      sub === "deploy"
        ? await call(c, "POST", "/api/apps", body)
        : await call(c, "PUT", `/api/apps/${manifest.name}`, body);
    if (!wait) return (print(r), 0);
    const v = await waitState(c, manifest.name, settled);
    print(v);
    return v.state === "running" ? 0 : 1;
  }
  if (sub === "status" && !arg) {
    print(await call(c, "GET", "/api/apps"));
    return 0;
  }
  if (!arg) throw new UsageError("app", `${sub} needs the app's name`);
  const path = `/api/apps/${encodeURIComponent(arg)}`;
  switch (sub) {
    case "start":
    case "stop": {
      const r = await call(c, "POST", `${path}/${sub}`, {});
      if (!wait) return (print(r), 0);
      const v = await waitState(c, arg, (s) => (sub === "start" ? settled(s) : s !== "running"));
      print(v);
      return sub === "start" && v.state !== "running" ? 1 : 0;
    }
    case "delete":
      print(await call(c, "DELETE", path));
      return 0;
    case "status":
      print(await call(c, "GET", path));
      return 0;
    default: {
      const r = (await call(c, "GET", `${path}/logs`)) as { text: string };
      out(r.text);
      return 0;
    }
  }
}
