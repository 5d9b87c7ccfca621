// REST API under /api, the status page at "/" and /healthz. Publisher requests are signed
// (api-auth.ts); the admin endpoint takes a bearer token. Bodies are capped before parsing.
import type { IncomingMessage, ServerResponse } from "node:http";
import { DID_KEY_RE, LIMITS } from "../protocol/messages";
import { ReplayCache, verifyApiRequest } from "./api-auth";
import type { CoordinatorConfig } from "./config";
import { ManifestRejected, type ContentIndex } from "./content";
import type { CoordinatorDb } from "./db";
import type { JobService } from "./jobs/service";
import { renderStatus, type StatusData } from "./status";
import { handleAppsRequest } from "./apps/rest"; // apps (issue 7)
import type { AppService } from "./apps/service"; // apps

/** What the REST handlers need from the coordinator. */
export interface RestDeps {
  cfg: CoordinatorConfig;
  db: CoordinatorDb;
  content: ContentIndex;
  statusData(): StatusData;
  now(): number;
  /** jobs: /api/jobs* and /api/ledger (src/coordinator/jobs/service.ts). */
  jobs?: JobService;
  /** apps (issue 7): app lifecycle under /api/apps (src/coordinator/apps/). */
  apps?: AppService;
}

export class RestApi {
  private readonly replay = new ReplayCache();

  constructor(private readonly d: RestDeps) {}

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://coordinator");
    const path = url.pathname;
    let manifestId: string | undefined;
    const manifestPath = /^\/api\/manifests\/([^/]+)$/.exec(path);
    if (manifestPath) {
      try {
        manifestId = decodeURIComponent(manifestPath[1] as string);
      } catch {
        return sendJson(res, 400, { error: "invalid", detail: "bad percent-encoding in path" });
      }
    }
    const method = req.method ?? "GET";
    if (method === "GET" && path === "/") {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      res.end(renderStatus(this.d.statusData()));
      return;
    }
    if (method === "GET" && path === "/healthz") {
      res.writeHead(200, { "content-type": "text/plain" }).end("ok\n");
      return;
    }
    // apps (issue 7): /api/apps… (src/coordinator/apps/rest.ts)
    if (
      this.d.apps &&
      (await handleAppsRequest(
        {
          apps: this.d.apps,
          replay: this.replay,
          isPublisher: (did) => !!this.d.db.getPublisher(did),
          maxSkewMs: this.d.cfg.api.maxSkewMs,
          now: this.d.now,
          readBody,
          sendJson,
        },
        req,
        res,
        url,
      ))
    ) {
      return;
    }
    if (method === "GET" && path === "/api/status") {
      const d = this.d.statusData();
      return sendJson(res, 200, d);
    }
    if (method === "GET" && path === "/api/contents") {
      const now = this.d.now();
      return sendJson(
        res,
        200,
        this.d.content.contents().map((c) => ({
          contentId: c.contentId,
          chunks: c.chunks.length,
          popularity: this.d.content.popularity(c.contentId, now),
        })),
      );
    }
    if (method === "GET" && manifestId !== undefined) {
      const row = this.d.db.getManifest(manifestId);
      if (!row) return sendJson(res, 404, { error: "not_found", detail: "no such content" });
      res.writeHead(200, { "content-type": "application/json" }).end(row.body);
      return;
    }
    if (method === "POST" && path === "/api/publishers") {
      const body = await readBody(req, 4096);
      if (!body) return sendJson(res, 413, { error: "too_large", detail: "body over 4096 bytes" });
      const token = this.d.cfg.adminToken;
      if (!token || req.headers.authorization !== `Bearer ${token}`) {
        return sendJson(res, 401, { error: "unauthorized", detail: "admin token required" });
      }
      let did: unknown;
      let name: unknown = "";
      try {
        ({ did, name = "" } = JSON.parse(body.toString("utf8")) as {
          did: unknown;
          name?: unknown;
        });
      } catch {
        return sendJson(res, 400, { error: "invalid", detail: "body is not JSON" });
      }
      if (typeof did !== "string" || !DID_KEY_RE.test(did) || typeof name !== "string") {
        return sendJson(res, 400, { error: "invalid", detail: "expected {did, name?}" });
      }
      this.d.db.addPublisher(did, name.slice(0, LIMITS.text), this.d.now());
      return sendJson(res, 201, { did });
    }
    if (
      (method === "POST" && path === "/api/manifests") ||
      (method === "DELETE" && manifestId !== undefined)
    ) {
      const body = await readBody(req, this.d.cfg.api.maxBodyBytes);
      if (!body) {
        return sendJson(res, 413, {
          error: "too_large",
          detail: `body over ${this.d.cfg.api.maxBodyBytes} bytes`,
        });
      }
      const auth = verifyApiRequest(
        req.headers.authorization,
        method,
        url.pathname + url.search,
        body,
        this.d.now(),
        this.d.cfg.api.maxSkewMs,
        this.replay,
      );
      if (!auth.ok) return sendJson(res, 401, { error: "unauthorized", detail: auth.reason });
      if (!this.d.db.getPublisher(auth.did)) {
        return sendJson(res, 403, { error: "forbidden", detail: "unknown publisher" });
      }
      if (method === "DELETE") {
        const id = manifestId as string;
        if (!this.d.content.remove(id, auth.did)) {
          return sendJson(res, 404, { error: "not_found", detail: "no such content of yours" });
        }
        return sendJson(res, 200, { contentId: id, deleted: true });
      }
      try {
        const info = this.d.content.publish(auth.did, new Uint8Array(body), this.d.now());
        return sendJson(res, 201, { contentId: info.contentId, chunks: info.chunks.length });
      } catch (e) {
        if (!(e instanceof ManifestRejected)) throw e;
        const status = e.code === "conflict" ? 409 : e.code === "too_large" ? 413 : 422;
        return sendJson(res, status, { error: e.code, detail: e.detail });
      }
    }
    if (this.d.jobs && (await this.d.jobs.handle(req, res, url))) return; // jobs
    sendJson(res, 404, { error: "not_found", detail: `${method} ${path}` });
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

/** Reads a body of at most `max` bytes; undefined (rest drained) if larger. */
export async function readBody(req: IncomingMessage, max: number): Promise<Buffer | undefined> {
  const declared = Number(req.headers["content-length"] ?? "0");
  if (declared > max) {
    req.resume();
    return undefined;
  }
  const parts: Buffer[] = [];
  let size = 0;
  let over = false;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > max) over = true;
    if (!over) parts.push(chunk);
  }
  return over ? undefined : Buffer.concat(parts);
}
