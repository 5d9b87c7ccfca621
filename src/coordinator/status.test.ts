import { describe, expect, it } from "vitest";
import { escapeHtml, formatBytes, offloadPercent, renderStatus } from "./status";

describe("status page", () => {
  it("escapes, formats and renders a chart per node", () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe(
      "&#60;a href=&#34;x&#34;&#62;&#39;&#38;&#39;&#60;/a&#62;",
    );
    expect(formatBytes(1536)).toBe("1.5 KiB");
    expect(offloadPercent({ p2pBytes: 0, httpBytes: 0 })).toBeUndefined();
    expect(offloadPercent({ p2pBytes: 3, httpBytes: 1 })).toBe(75);
    const html = renderStatus({
      generatedAt: 0,
      browsers: 2,
      contents: 1,
      publishers: 1,
      offload: { p2pBytes: 3, httpBytes: 1 },
      bucketMs: 60_000,
      nodes: [
        {
          id: "did:key:z<script>alert(1)</script>",
          cluster: "c",
          reachability: "public",
          load: 0.5,
          uplinkCapBps: 1000,
          uplinkUsedBps: 10,
          storeBytes: 1,
          storeCapBytes: 2,
          credibility: 0.9,
          lastSeenAgoMs: 100,
          chunks: 3,
          bytesServed: 4096,
          series: [0, 10, 20],
        },
      ],
    });
    expect(html).not.toContain("<script>");
    expect(html).toContain("75.0%");
    expect(html).toMatch(/<polyline[^>]+points="[\d., ]+"/);
    expect(html).toContain("4.0 KiB");
  });
});
