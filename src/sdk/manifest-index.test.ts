import { describe, expect, it } from "vitest";
import { generateKeyPair } from "../protocol/ed25519";
import { buildManifest, encodeManifest, signManifest } from "../protocol/manifest";
import type { ManifestType } from "../protocol/manifest-types";
import { SdkError } from "./config";
import { loadManifest, ManifestIndex } from "./manifest-index";

const key = generateKeyPair();
const id = (n: number) => n.toString(16).padStart(64, "0");

/** A signed manifest whose files are `uris` (absolute) or paths, one 1 KiB chunk each. */
function index(type: ManifestType, names: string[]): ManifestIndex {
  const files = names.map((name, i) => ({
    ...(type === "hls" || type === "dash" ? { uri: `https://o.example/${name}` } : { path: name }),
    size: 1024,
    chunks: [{ id: id(i + 1), size: 1024 }],
  }));
  const m = buildManifest({
    type,
    name: "t",
    version: 1,
    created: 1_700_000_000,
    chunkSize: 1024,
    origins: ["https://o.example/"],
    files,
    publisher: key.did,
  });
  return new ManifestIndex(signManifest(m, key));
}

const names = (fs: { uri?: string; path?: string }[]) => fs.map((f) => f.uri ?? f.path);

describe("ManifestIndex.starts", () => {
  it("is the first segment of each rendition: the file after each playlist", () => {
    const ix = index("hls", [
      "master.m3u8",
      "low/index.m3u8",
      "low/0.ts",
      "low/1.ts",
      "high/index.m3u8?v=2",
      "high/0.ts",
      "high/1.ts",
    ]);
    expect(names(ix.starts(4))).toEqual([
      "https://o.example/low/0.ts",
      "https://o.example/high/0.ts",
    ]);
    expect(names(ix.starts(1))).toEqual(["https://o.example/low/0.ts"]);
    expect(ix.starts(0)).toEqual([]);
  });

  it("a manifest of segments only, or a download: its first file", () => {
    expect(names(index("hls", ["0.ts", "1.ts"]).starts(4))).toEqual(["https://o.example/0.ts"]);
    expect(names(index("file", ["movie.mkv"]).starts(4))).toEqual(["movie.mkv"]);
    expect(index("dash", ["only.mpd"]).starts(4)).toEqual([]);
  });
});

describe("loadManifest", () => {
  const served = (ix: ManifestIndex) =>
    (async () =>
      new Response(
        encodeManifest(ix.manifest) as Uint8Array<ArrayBuffer>,
      )) as unknown as typeof fetch;

  it("shows the parsed index before the signature check, and resolves to it once checked", async () => {
    const ix = index("hls", ["0.ts", "1.ts"]);
    const seen: string[] = [];
    const got = await loadManifest("https://o.example/m", key.did, served(ix), 1000, (u) =>
      seen.push(u.contentId),
    );
    expect(seen).toEqual([ix.contentId]);
    expect(got.contentId).toBe(ix.contentId);
  });

  it("rejects a manifest that fails the check, after onParsed saw it unverified", async () => {
    const ix = index("hls", ["0.ts"]);
    const seen: string[] = [];
    const other = generateKeyPair().did; // not the signer
    const p = loadManifest("https://o.example/m", other, served(ix), 1000, (u) =>
      seen.push(u.contentId),
    );
    await expect(p).rejects.toBeInstanceOf(SdkError);
    await expect(p).rejects.toMatchObject({ code: "manifest" });
    expect(seen).toEqual([ix.contentId]);
  });
});
