import { describe, expect, it } from "vitest";
import { daemonOverCtl } from "./daemon-ops";

describe("daemonOverCtl", () => {
  it("maps pear-fogd's status reply; missing or mistyped fields read as empty", async () => {
    const d = daemonOverCtl(async (op) => {
      expect(op).toBe("status");
      return {
        sharing: true,
        store_chunks: 3,
        store_bytes: 300,
        store_cap: 1000,
        store_evictions: 7,
        upload_cap: "fast",
        http_port: 8080,
        bytes_served_rtc_total: 42,
        peer_ids: ["a", 7],
      };
    });
    expect(await d.status()).toEqual({
      sharing: true,
      storeChunks: 3,
      storeBytes: 300,
      storeCap: 1000,
      storeEvictions: 7,
      uploadCap: 0,
      httpPort: 8080,
      bytesServedRtc: 42,
      peerIds: ["a", "7"],
      reachability: "unknown",
    });
  });

  it("sends the fields each operation names and only the limits given", async () => {
    const sent: [string, Record<string, unknown> | undefined][] = [];
    const d = daemonOverCtl(async (op, fields) => {
      sent.push([op, fields]);
      return op === "chunk_list" ? { chunks: ["x"], total: 9 } : { have: ["h"] };
    });
    await d.chunkPut("id1", "/tmp/p");
    expect(await d.chunkHas(["h", "i"])).toEqual(["h"]);
    expect(await d.chunkList(5, 10)).toEqual({ chunks: ["x"], total: 9 });
    await d.limits({ uploadCap: 100 });
    await d.sharing(false);
    expect(sent).toEqual([
      ["chunk_put", { chunk: "id1", path: "/tmp/p" }],
      ["chunk_has", { chunks: ["h", "i"] }],
      ["chunk_list", { offset: 5, limit: 10 }],
      ["limits", { upload_cap: 100 }],
      ["sharing", { enabled: false }],
    ]);
  });

  it("passes the transport's rejection through", async () => {
    const d = daemonOverCtl(async () => {
      throw new Error("no daemon");
    });
    await expect(d.offer("v=0")).rejects.toThrow("no daemon");
  });
});
