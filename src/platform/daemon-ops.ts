// pear-fogd's control operations (ctl.h, ARCHITECTURE.md) as the Daemon interface, over any
// transport that sends one request and returns the reply's fields: the Node platform's unix
// socket client and the native platform's fog.ctl. Pure: runs on Node and in QuickJS.
import { REACHABILITY, type Reachability } from "../protocol/messages";
import type { Daemon, DaemonStatus } from "./platform";

/** Sends `op` with `fields`; resolves with the reply's fields, rejects with a PlatformError. */
export type CtlRequest = (
  op: string,
  fields?: Record<string, unknown>,
) => Promise<Record<string, unknown>>;

const num = (v: unknown) => (typeof v === "number" ? v : 0);
const strings = (v: unknown) => (Array.isArray(v) ? v.map(String) : []);

export function daemonOverCtl(req: CtlRequest): Daemon {
  return {
    async status(): Promise<DaemonStatus> {
      const s = await req("status");
      return {
        sharing: s.sharing === true,
        storeChunks: num(s.store_chunks),
        storeBytes: num(s.store_bytes),
        storeCap: num(s.store_cap),
        storeEvictions: num(s.store_evictions),
        uploadCap: num(s.upload_cap),
        httpPort: num(s.http_port),
        bytesServedRtc: num(s.bytes_served_rtc_total),
        peerIds: strings(s.peer_ids),
        reachability: REACHABILITY.includes(s.reachability as Reachability)
          ? (s.reachability as Reachability)
          : "unknown",
      };
    },
    async offer(sdp) {
      const r = await req("offer", { sdp });
      return { sdp: String(r.sdp), session: String(r.session) };
    },
    async closeSession(session) {
      await req("close_session", { session });
    },
    async chunkPut(id, path) {
      await req("chunk_put", { chunk: id, path });
    },
    async chunkRemove(id) {
      await req("chunk_remove", { chunk: id });
    },
    async chunkHas(ids) {
      return strings((await req("chunk_has", { chunks: ids })).have);
    },
    async chunkList(offset, limit) {
      const r = await req("chunk_list", { offset, limit });
      return { chunks: strings(r.chunks), total: num(r.total) };
    },
    async limits(l) {
      const f: Record<string, number> = {};
      if (l.uploadCap !== undefined) f.upload_cap = l.uploadCap;
      if (l.peerUploadCap !== undefined) f.peer_upload_cap = l.peerUploadCap;
      if (l.storeSize !== undefined) f.store_size = l.storeSize;
      await req("limits", f);
    },
    async sharing(enabled) {
      await req("sharing", { enabled });
    },
    async candidate(session, candidate) {
      await req("candidate", { session, candidate });
    },
    async stunServers(servers) {
      await req("stun_servers", { servers });
    },
  };
}
