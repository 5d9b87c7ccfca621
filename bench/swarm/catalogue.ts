// The synthetic catalogue: C items, each an HLS media playlist of K segments of seeded random
// bytes under <root>/items/v<i>/, published (signed manifest, one per item) with the CLI's
// publish() from the origin by URL, and uploaded to the coordinator over signed REST.
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { publish } from "../../src/cli/publish";
import { signApiRequest } from "../../src/coordinator/api-auth";
import type { KeyPair } from "../../src/protocol/ed25519";
import { fillSeeded } from "./schedule";

export interface Item {
  /** Catalogue index (0 = most popular). */
  index: number;
  contentId: string;
  manifestUrl: string;
  /** Segment URLs in play order, with the SHA-256 (hex) of each whole segment. */
  segments: { url: string; sha256: string }[];
}

export interface CatalogueSpec {
  items: number;
  segments: number;
  segmentBytes: number;
  segmentSeconds: number;
  chunkBytes: number;
  seed: number;
}

/** Writes the media files under `root`/items (served by the origin at /items/…). */
export function writeCatalogue(root: string, spec: CatalogueSpec): void {
  const seg = new Uint8Array(spec.segmentBytes);
  for (let i = 0; i < spec.items; i++) {
    const dir = join(root, "items", `v${i}`);
    mkdirSync(dir, { recursive: true });
    const lines = [
      "#EXTM3U",
      "#EXT-X-VERSION:3",
      `#EXT-X-TARGETDURATION:${Math.ceil(spec.segmentSeconds)}`,
      "#EXT-X-MEDIA-SEQUENCE:0",
    ];
    for (let s = 0; s < spec.segments; s++) {
      fillSeeded(seg, spec.seed * 1_000_003 + i * 1009 + s);
      writeFileSync(join(dir, `seg${s}.ts`), seg);
      lines.push(`#EXTINF:${spec.segmentSeconds.toFixed(3)},`, `seg${s}.ts`);
    }
    lines.push("#EXT-X-ENDLIST", "");
    writeFileSync(join(dir, "index.m3u8"), lines.join("\n"));
  }
}

/** Publishes every item from `originUrl` and registers its manifest with the coordinator. */
export async function publishCatalogue(
  root: string,
  originUrl: string,
  coordinatorUrl: string,
  key: KeyPair,
  spec: CatalogueSpec,
): Promise<Item[]> {
  const items: Item[] = [];
  for (let i = 0; i < spec.items; i++) {
    const base = `${originUrl}/items/v${i}`;
    const dir = join(root, "items", `v${i}`);
    const pub = await publish(`${base}/index.m3u8`, {
      key,
      outDir: join(root, "pub", `v${i}`),
      chunkSize: spec.chunkBytes,
    });
    const bytes = readFileSync(pub.manifestPath);
    writeFileSync(join(dir, "manifest.json"), bytes);
    const path = "/api/manifests";
    const auth = signApiRequest(key.did, key.seed, "POST", path, new Uint8Array(bytes));
    const up = await fetch(`${coordinatorUrl}${path}`, {
      method: "POST",
      headers: { authorization: auth, "content-type": "application/json" },
      body: bytes,
    });
    if (!up.ok) throw new Error(`manifest v${i} upload: HTTP ${up.status} ${await up.text()}`);
    const segments = Array.from({ length: spec.segments }, (_, s) => ({
      url: `${base}/seg${s}.ts`,
      sha256: createHash("sha256")
        .update(readFileSync(join(dir, `seg${s}.ts`)))
        .digest("hex"),
    }));
    items.push({
      index: i,
      contentId: pub.contentId,
      manifestUrl: `${base}/manifest.json`,
      segments,
    });
  }
  return items;
}
