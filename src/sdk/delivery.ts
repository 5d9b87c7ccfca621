// Delivers one manifest file (an HLS/DASH segment or a large file): chunks from fog nodes in
// parallel, each verified with SHA-256 against the manifest, HTTP Range requests for the rest
// (no holder, deadline passed, node error, bad hash). Nothing is returned until every byte is
// verified; HTTP bytes are checked against the manifest too. A chunk that is slow on its node
// is also asked of an idle holder (stealFactor); the copy that loses is cancelled, as is every
// fog request still open when the file is complete.
import { hexDecode, hexEncode } from "../protocol/hex";
import type { FoundNode } from "../protocol/messages";
import { type ChunkClient, ChunkRequestError } from "./chunk-client";
import { SdkError } from "./config";
import type { FileEntry } from "./manifest-index";
import { type Assignment, ChunkScheduler, contiguousRuns } from "./schedule";
import type { FallbackReason } from "./stats";

/** What delivery needs from the rest of the SDK (real objects in production and tests). */
export interface DeliveryDeps {
  /** Ranked nodes for these chunk ids (browser.find); [] when none or the coordinator is down. */
  find(chunkIds: string[]): Promise<FoundNode[]>;
  usable(node: string): boolean;
  client(node: string): Promise<ChunkClient>;
  markBad(node: string): void;
  report(node: string, chunk: string, reason: "hash_mismatch" | "timeout" | "refused"): void;
  fetch: typeof fetch;
  httpTimeoutMs: number;
  maxNodes: number;
  maxInflightPerNode: number;
  /** SdkOptions.stealFactor: 0 = never ask a second node for a slow chunk. */
  stealFactor: number;
  now(): number;
  onFog(node: string, bytes: number, ms: number): void;
  onNodeFailure(node: string): void;
  onFallback(reason: FallbackReason, chunk: string | undefined, node: string | undefined): void;
  /** `chunk`, slow on `from`, was also asked of `to`. */
  onSteal(chunk: string, from: string, to: string): void;
}

/** A fog request in flight. */
interface FogRequest {
  a: Assignment;
  /** deps.now() when it was asked for. */
  started: number;
  /** Its place in the batch sent to its node (1 = first): it waits for those before it. */
  place: number;
  cancel: AbortController;
}

export interface DeliveryResult {
  data: Uint8Array;
  bytesFog: number;
  bytesHttp: number;
}

/** SHA-256 with WebCrypto (browsers, Node >= 20). */
export async function sha256Hex(data: Uint8Array): Promise<string> {
  const d = await globalThis.crypto.subtle.digest("SHA-256", data as Uint8Array<ArrayBuffer>);
  return hexEncode(new Uint8Array(d));
}

/**
 * Fetch `entry` with the fog getting `deadlineMs`. Rejects with SdkError ("http": the fallback
 * failed or returned bytes that do not match the manifest; "aborted").
 */
export async function deliverFile(
  entry: FileEntry,
  deps: DeliveryDeps,
  deadlineMs: number,
  signal?: AbortSignal,
): Promise<DeliveryResult> {
  const { file, chunkSize } = entry;
  const ids = file.chunks.map((c) => c.id);
  const got: (Uint8Array | undefined)[] = new Array<undefined>(ids.length).fill(undefined);
  const source: ("fog" | "http" | undefined)[] = new Array(ids.length);
  let bytesFog = 0;
  let bytesHttp = 0;

  let nodes: FoundNode[] = [];
  try {
    nodes = (await deps.find(ids)).filter((n) => deps.usable(n.node));
  } catch {
    nodes = [];
  }
  if (signal?.aborted) throw new SdkError("aborted", entry.url);
  const sched = new ChunkScheduler(ids.length, nodes, deps.maxNodes, deps.maxInflightPerNode);
  const requested = new Set<number>(); // chunks handed to HTTP
  const noHolder = sched.httpChunks();
  for (const i of noHolder) deps.onFallback("no_nodes", ids[i], undefined);

  return new Promise<DeliveryResult>((resolve, reject) => {
    let finished = false;
    const open = new Set<FogRequest>();
    // Fastest (request → verified) / place of this file's fog chunks so far, milliseconds.
    let perChunkMs = Infinity;
    let stealTimer: ReturnType<typeof setTimeout> | undefined;
    const deadline = setTimeout(() => {
      for (const i of sched.expire()) deps.onFallback("deadline", ids[i], undefined);
      step();
    }, deadlineMs);
    const onAbort = () => finish(new SdkError("aborted", entry.url));
    signal?.addEventListener("abort", onAbort);

    const finish = (err?: Error) => {
      if (finished) return;
      finished = true;
      clearTimeout(deadline);
      clearTimeout(stealTimer);
      signal?.removeEventListener("abort", onAbort);
      // Whatever the fog still sends for this file is no longer wanted.
      for (const r of open) r.cancel.abort();
      open.clear();
      if (err) return reject(err);
      const out = new Uint8Array(file.size);
      got.forEach((b, i) => out.set(b!, i * chunkSize));
      for (let i = 0; i < ids.length; i++) {
        if (source[i] === "fog") bytesFog += file.chunks[i]!.size;
        else bytesHttp += file.chunks[i]!.size;
      }
      resolve({ data: out, bytesFog, bytesHttp });
    };

    const accept = (i: number, bytes: Uint8Array, from: "fog" | "http"): boolean => {
      if (got[i]) return false; // the other source was first
      got[i] = bytes;
      source[i] = from;
      return true;
    };

    // A chunk the fog did not deliver: HTTP takes it (and the node is dropped) unless the
    // node only pushed back.
    const fogFailed = (a: Assignment, e: unknown) => {
      const id = ids[a.chunk]!;
      const code = e instanceof ChunkRequestError ? e.code : "CONNECT";
      // Back-pressure is not misbehaviour: keep the node, send this chunk over HTTP.
      const keep = code === "BUSY" || code === "RATE_LIMITED";
      if (code === "TIMEOUT") deps.report(a.node, id, "timeout");
      else if (code === "NOT_FOUND") deps.report(a.node, id, "refused");
      deps.onNodeFailure(a.node);
      if (!keep) deps.markBad(a.node);
      if (sched.failed(a, !keep)) deps.onFallback("node_error", id, a.node);
    };

    // Endgame: a chunk that has taken stealFactor times longer than this file's chunks take
    // on the fastest node (its place in its node's batch counted) is also asked of a holder
    // with nothing left to send for this file. Armed once a first chunk gives the pace.
    // A due request that no idle holder can take over waits for the next chunk to arrive
    // (a node that just became idle) or for the deadline.
    const dueAt = (r: FogRequest) => r.started + deps.stealFactor * r.place * perChunkMs;
    const armSteal = (after = -Infinity) => {
      clearTimeout(stealTimer);
      if (finished || deps.stealFactor <= 0 || perChunkMs === Infinity) return;
      let next = Infinity;
      for (const r of open) if (dueAt(r) > after) next = Math.min(next, dueAt(r));
      if (next === Infinity) return;
      stealTimer = setTimeout(stealDue, Math.max(0, next - deps.now()));
    };
    const stealDue = () => {
      const now = deps.now();
      for (const r of [...open]) {
        if (dueAt(r) > now) continue;
        const b = sched.steal(r.a.chunk);
        if (!b) continue;
        deps.onSteal(ids[b.chunk]!, r.a.node, b.node);
        void fogFrom(b.node, [b]);
      }
      armSteal(now);
    };

    const fogChunk = async (r: FogRequest, reply: Promise<Uint8Array>) => {
      const { a, started } = r;
      const id = ids[a.chunk]!;
      let bytes: Uint8Array;
      try {
        bytes = await reply;
      } catch (e) {
        open.delete(r);
        if (finished) return;
        // Cancelled here: the other copy of the chunk won. Not the node's fault.
        if (r.cancel.signal.aborted) sched.failed(a, false);
        else fogFailed(a, e);
        return step();
      }
      open.delete(r);
      if (finished) return;
      const ok = bytes.length === file.chunks[a.chunk]!.size && (await sha256Hex(bytes)) === id;
      if (finished) return;
      if (!ok) {
        deps.report(a.node, id, "hash_mismatch");
        deps.onNodeFailure(a.node);
        deps.markBad(a.node);
        if (sched.failed(a, true)) deps.onFallback("bad_hash", id, a.node);
        return step();
      }
      sched.done(a);
      const took = deps.now() - started;
      if (accept(a.chunk, bytes, "fog")) deps.onFog(a.node, bytes.length, took);
      for (const other of open) if (other.a.chunk === a.chunk) other.cancel.abort();
      // Clock ticks are whole milliseconds: a chunk "in 0 ms" paces at 1 ms.
      perChunkMs = Math.min(perChunkMs, Math.max(1, took) / r.place);
      armSteal();
      step();
    };

    // The chunks started on one node go in one request message (a GET batch).
    const fogFrom = async (node: string, as: Assignment[]) => {
      const started = deps.now();
      let client: ChunkClient;
      try {
        client = await deps.client(node);
      } catch (e) {
        if (finished) return;
        for (const a of as) fogFailed(a, e);
        return step();
      }
      if (finished) return;
      const reqs = as.map((a, i) => ({ a, started, place: i + 1, cancel: new AbortController() }));
      for (const r of reqs) open.add(r);
      const replies = client.getMany(
        reqs.map((r) => ({ chunkId: hexDecode(ids[r.a.chunk]!, 32)!, signal: r.cancel.signal })),
      );
      reqs.forEach((r, i) => void fogChunk(r, replies[i]!));
      armSteal();
    };

    const httpRun = async (first: number, last: number) => {
      try {
        const bytes = await httpRange(entry, first, last, deps, signal);
        for (let i = first; i <= last; i++) {
          const c = file.chunks[i]!;
          const at = (i - first) * chunkSize;
          const part = bytes.subarray(at, at + c.size);
          if (part.length !== c.size || (await sha256Hex(part)) !== c.id) {
            throw new SdkError(
              "http",
              `${entry.url}: chunk ${i} from HTTP does not match manifest`,
            );
          }
          accept(i, part, "http");
        }
      } catch (e) {
        return finish(e instanceof SdkError ? e : new SdkError("http", String(e)));
      }
      step();
    };

    const step = () => {
      if (finished) return;
      const byNode = new Map<string, Assignment[]>();
      for (const a of sched.next()) {
        const started = byNode.get(a.node);
        if (started) started.push(a);
        else byNode.set(a.node, [a]);
      }
      for (const [node, as] of byNode) void fogFrom(node, as);
      const fresh = sched.httpChunks().filter((i) => !requested.has(i) && !got[i]);
      for (const i of fresh) requested.add(i);
      for (const [a, b] of contiguousRuns(fresh)) void httpRun(a, b);
      // Every chunk is either fetched, in flight on the fog, or handed to HTTP (whose
      // failure rejects), so this is reached exactly once all bytes are verified.
      if (got.every((b) => b !== undefined)) finish();
    };
    step();
  });
}

/** GET chunks [first, last] of the entry: a Range request unless that is the whole file. */
async function httpRange(
  entry: FileEntry,
  first: number,
  last: number,
  deps: DeliveryDeps,
  signal: AbortSignal | undefined,
): Promise<Uint8Array> {
  const { file, chunkSize } = entry;
  const start = first * chunkSize;
  const end = last * chunkSize + file.chunks[last]!.size; // exclusive
  const whole = start === 0 && end === file.size;
  const timeout = AbortSignal.timeout(deps.httpTimeoutMs);
  const res = await deps.fetch(entry.url, {
    headers: whole ? {} : { range: `bytes=${start}-${end - 1}` },
    signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
  });
  if (res.status !== 200 && res.status !== 206) {
    throw new SdkError("http", `GET ${entry.url}: HTTP ${res.status}`);
  }
  const body = new Uint8Array(await res.arrayBuffer());
  // A server that ignores Range sends the whole file with 200.
  if (res.status === 200 && !whole) return body.subarray(start, end);
  return body;
}
