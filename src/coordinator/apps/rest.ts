// REST for app lifecycle (issue 7, docs/apps.md). Every request but the bundle download is
// signed by a registered publisher (api-auth.ts: the developer's did:key); an app belongs to the
// developer who deployed it.
//
//   POST   /api/apps                 {manifest, bundle: base64, node?}  → 202 AppView
//   GET    /api/apps                 → AppView[] (the caller's)
//   GET    /api/apps/<name>          → AppView
//   PUT    /api/apps/<name>          {manifest, bundle}  update (rollback if it fails to start)
//   POST   /api/apps/<name>/start    POST /api/apps/<name>/stop  → 202 AppView
//   DELETE /api/apps/<name>          → 200 {name, deleted: true}
//   GET    /api/apps/<name>/logs     → {text}
//   GET    /api/apps/bundles/<sha256>  the bundle bytes (unauthenticated: content-addressed)
// Errors: {error, detail} with 400 invalid, 401 unauthorized, 403 forbidden, 404 not_found,
// 409 conflict, 413 too_large, 422 bad_signature/bad_bundle, 503 no_node, 504 timeout.
import type { IncomingMessage, ServerResponse } from "node:http";
import { APP_LIMITS, APP_NAME_RE } from "../../protocol/app";
import type { ReplayCache } from "../api-auth";
import { verifyApiRequest } from "../api-auth";
import { AppOpFailed, type AppService } from "./service";

/** Largest request body: a base64 bundle at the size cap plus the manifest, bytes. */
export const APPS_MAX_BODY = Math.ceil((APP_LIMITS.bundleBytes * 4) / 3) + 16 * 1024;

export interface AppsRestDeps {
  apps: AppService;
  replay: ReplayCache;
  isPublisher(did: string): boolean;
  maxSkewMs: number;
  now(): number;
  readBody(req: IncomingMessage, max: number): Promise<Buffer | undefined>;
  sendJson(res: ServerResponse, status: number, body: unknown): void;
}

const STATUS: Record<string, number> = {
  invalid: 400,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  too_large: 413,
  bad_signature: 422,
  bad_bundle: 422,
  no_node: 503,
  timeout: 504,
};

/** Handles /api/apps…; false if the path is not one of these. */
export async function handleAppsRequest(
  d: AppsRestDeps,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
): Promise<boolean> {
  const path = url.pathname;
  if (path !== "/api/apps" && !path.startsWith("/api/apps/")) return false;
  const method = req.method ?? "GET";
  const bundleM = /^\/api\/apps\/bundles\/([0-9a-f]{64})$/.exec(path);
  if (bundleM) {
    const b = method === "GET" ? d.apps.bundle(bundleM[1] as string) : undefined;
    if (!b) d.sendJson(res, 404, { error: "not_found", detail: "no such bundle" });
    else res.writeHead(200, { "content-type": "application/javascript" }).end(b);
    return true;
  }
  const m = /^\/api\/apps(?:\/([^/]+)(?:\/(start|stop|logs))?)?$/.exec(path);
  const name = m?.[1];
  const action = m?.[2];
  if (!m || (name !== undefined && !APP_NAME_RE.test(name))) {
    d.sendJson(res, 404, { error: "not_found", detail: `${method} ${path}` });
    return true;
  }
  const body = await d.readBody(req, APPS_MAX_BODY);
  if (!body) {
    d.sendJson(res, 413, { error: "too_large", detail: `body over ${APPS_MAX_BODY} bytes` });
    return true;
  }
  const auth = verifyApiRequest(
    req.headers.authorization,
    method,
    url.pathname + url.search,
    body,
    d.now(),
    d.maxSkewMs,
    d.replay,
  );
  if (!auth.ok) {
    d.sendJson(res, 401, { error: "unauthorized", detail: auth.reason });
    return true;
  }
  if (!d.isPublisher(auth.did)) {
    d.sendJson(res, 403, {
      error: "forbidden",
      detail: "unknown developer (register as a publisher)",
    });
    return true;
  }
  const dev = auth.did;
  try {
    if (name === undefined) {
      if (method === "GET") {
        d.sendJson(
          res,
          200,
          d.apps.list().filter((a) => a.developer === dev),
        );
      } else if (method === "POST") {
        const { manifest, bundle, node } = parseDeploy(body);
        d.sendJson(res, 202, d.apps.deploy(dev, manifest, bundle, node));
      } else {
        d.sendJson(res, 405, { error: "invalid", detail: `${method} ${path}` });
      }
      return true;
    }
    if (action === undefined && method === "GET") {
      const v = d.apps.get(name);
      if (!v || v.developer !== dev) throw new AppOpFailed("not_found", `no app ${name}`);
      d.sendJson(res, 200, v);
    } else if (action === undefined && method === "PUT") {
      const { manifest, bundle } = parseDeploy(body);
      d.sendJson(res, 202, d.apps.update(dev, name, manifest, bundle));
    } else if (action === undefined && method === "DELETE") {
      d.apps.remove(dev, name);
      d.sendJson(res, 200, { name, deleted: true });
    } else if (action === "start" && method === "POST") {
      d.sendJson(res, 202, d.apps.start(dev, name));
    } else if (action === "stop" && method === "POST") {
      d.sendJson(res, 202, d.apps.stop(dev, name));
    } else if (action === "logs" && method === "GET") {
      d.sendJson(res, 200, { text: await d.apps.logs(dev, name) });
    } else {
      d.sendJson(res, 405, { error: "invalid", detail: `${method} ${path}` });
    }
  } catch (e) {
    if (!(e instanceof AppOpFailed)) throw e;
    d.sendJson(res, STATUS[e.code] ?? 400, { error: e.code, detail: e.detail });
  }
  return true;
}

function parseDeploy(body: Buffer): { manifest: unknown; bundle: Uint8Array; node?: string } {
  let j: unknown;
  try {
    j = JSON.parse(body.toString("utf8"));
  } catch {
    throw new AppOpFailed("invalid", "body is not JSON");
  }
  const o = j as { manifest?: unknown; bundle?: unknown; node?: unknown };
  if (typeof o !== "object" || o === null || typeof o.bundle !== "string" || !o.manifest) {
    throw new AppOpFailed("invalid", "expected {manifest, bundle: base64, node?}");
  }
  if (o.node !== undefined && typeof o.node !== "string") {
    throw new AppOpFailed("invalid", "node must be a node id");
  }
  const bundle = new Uint8Array(Buffer.from(o.bundle, "base64"));
  return { manifest: o.manifest, bundle, ...(o.node ? { node: o.node } : {}) };
}
