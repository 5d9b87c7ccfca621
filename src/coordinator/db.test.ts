import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CoordinatorDb, SCHEMA_VERSION } from "./db";

describe("CoordinatorDb", () => {
  it("migrates once and keeps data across reopen", () => {
    const dir = mkdtempSync(join(tmpdir(), "pf-db-"));
    try {
      const path = join(dir, "c.db");
      const a = new CoordinatorDb(path);
      expect(a.schemaVersion()).toBe(SCHEMA_VERSION);
      a.addPublisher("did:key:zA", "alice", 1);
      a.addPublisher("did:key:zA", "ignored", 2);
      a.putManifest({ contentId: "v", publisherDid: "did:key:zA", body: "{}", createdAt: 3 });
      const n = a.touchNode("did:key:zN", 10, 0.8);
      expect(n).toEqual({
        did: "did:key:zN",
        firstSeen: 10,
        lastSeen: 10,
        credibility: 0.8,
        bytesServed: 0,
      });
      a.setCredibility("did:key:zN", 0.5);
      a.addBytesServed("did:key:zN", 7, 100, 11);
      a.addBytesServed("did:key:zN", 7, 50, 12);
      a.addBytesServed("did:key:zN", 8, 1, 13);
      a.addOffload(7, 900, 100);
      a.close();
      const b = new CoordinatorDb(path);
      expect(b.schemaVersion()).toBe(SCHEMA_VERSION);
      expect(b.listPublishers()).toEqual([{ did: "did:key:zA", name: "alice", createdAt: 1 }]);
      expect(b.getManifest("v")?.body).toBe("{}");
      // touchNode on a known node keeps credibility and first_seen.
      expect(b.touchNode("did:key:zN", 20, 0.8)).toMatchObject({
        firstSeen: 10,
        credibility: 0.5,
        bytesServed: 151,
      });
      expect(b.bytesSeries("did:key:zN", 0)).toEqual([
        { bucket: 7, bytes: 150 },
        { bucket: 8, bytes: 1 },
      ]);
      expect(b.offloadTotals()).toEqual({ p2pBytes: 900, httpBytes: 100 });
      b.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("does not let one publisher overwrite another's manifest", () => {
    const db = new CoordinatorDb(":memory:");
    db.addPublisher("p1");
    db.addPublisher("p2");
    db.putManifest({ contentId: "v", publisherDid: "p1", body: "one", createdAt: 1 });
    db.putManifest({ contentId: "v", publisherDid: "p2", body: "two", createdAt: 2 });
    expect(db.getManifest("v")).toMatchObject({ publisherDid: "p1", body: "one" });
    expect(db.deleteManifest("v", "p2")).toBe(false);
    db.close();
  });
});
