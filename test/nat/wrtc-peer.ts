// The browser side of a NAT matrix pair: libwebrtc (@roamhq/wrtc) run inside the browser's
// namespace (`ip netns exec <ns> node --import tsx test/nat/wrtc-peer.ts`), driven by JSON lines:
//
//   stdin  {t:"start", iceServers}          → stdout {t:"offer", sdp}, then {t:"candidate", candidate}
//                                              per gathered candidate ("" when gathering ends)
//   stdin  {t:"answer", sdp}
//   stdin  {t:"get", chunk, timeoutMs, settleMs}
//                                           → stdout {t:"got", sha256, connectMs, fetchMs,
//                                              initial, settleMs, local, remote} (candidate types
//                                              of the selected pair: first, and after ICE had up
//                                              to settleMs to leave a relay) or {t:"error", message}
import { createHash } from "node:crypto";
import { createInterface } from "node:readline";
import wrtc from "@roamhq/wrtc";
import { ChunkClient } from "../../src/sdk/chunk-client";

type Msg =
  | { t: "start"; iceServers: RTCIceServer[] }
  | { t: "answer"; sdp: string }
  | { t: "get"; chunk: string; timeoutMs: number; settleMs: number };

const out = (m: object) => process.stdout.write(JSON.stringify(m) + "\n");
let pc: InstanceType<typeof wrtc.RTCPeerConnection> | undefined;
let opened: Promise<void> | undefined;
let started = 0;
let openedAt = 0;

interface StatLike {
  type?: string;
  id?: string;
  candidateType?: string;
  selectedCandidatePairId?: string;
  localCandidateId?: string;
  remoteCandidateId?: string;
  state?: string;
  nominated?: boolean;
}

async function selectedPair(): Promise<{ local: string; remote: string }> {
  const stats = new Map<string, StatLike>();
  (await pc!.getStats()).forEach((s: StatLike) => stats.set(s.id!, s));
  let pair: StatLike | undefined;
  for (const s of stats.values())
    if (s.type === "transport" && s.selectedCandidatePairId)
      pair = stats.get(s.selectedCandidatePairId);
  if (!pair)
    for (const s of stats.values())
      if (s.type === "candidate-pair" && s.nominated && s.state === "succeeded") pair = s;
  return {
    local: stats.get(pair?.localCandidateId ?? "")?.candidateType ?? "?",
    remote: stats.get(pair?.remoteCandidateId ?? "")?.candidateType ?? "?",
  };
}

async function handle(m: Msg): Promise<void> {
  if (m.t === "start") {
    started = Date.now();
    pc = new wrtc.RTCPeerConnection({ iceServers: m.iceServers });
    const dc = pc.createDataChannel("pear-fog-chunks");
    dc.binaryType = "arraybuffer";
    opened = new Promise((resolve) => {
      dc.onopen = () => {
        openedAt = Date.now();
        resolve();
      };
    });
    (globalThis as { dc?: unknown }).dc = dc;
    pc.onicecandidate = (e: { candidate: { candidate: string } | null }) =>
      out({ t: "candidate", candidate: e.candidate?.candidate ?? "" });
    await pc.setLocalDescription(await pc.createOffer());
    out({ t: "offer", sdp: pc.localDescription!.sdp });
  } else if (m.t === "answer") {
    await pc!.setRemoteDescription({ type: "answer", sdp: m.sdp });
  } else if (m.t === "get") {
    const timeout = new Promise<never>((_, rej) =>
      setTimeout(() => rej(new Error(`no data channel in ${m.timeoutMs} ms`)), m.timeoutMs),
    );
    try {
      await Promise.race([opened, timeout]);
    } catch (err) {
      // what ICE saw, for the failure message
      const pairs: string[] = [];
      const stats = new Map<string, StatLike & Record<string, unknown>>();
      (await pc!.getStats()).forEach((s: StatLike & Record<string, unknown>) =>
        stats.set(s.id!, s),
      );
      for (const s of stats.values()) {
        if (s.type !== "candidate-pair") continue;
        const l = stats.get(s.localCandidateId!) ?? {};
        const r = stats.get(s.remoteCandidateId!) ?? {};
        pairs.push(
          `${String(l.candidateType)} ${String(l.address)}:${String(l.port)} -> ` +
            `${String(r.candidateType)} ${String(r.address)}:${String(r.port)} ${String(s.state)}` +
            ` req=${String(s.requestsSent)} resp=${String(s.responsesReceived)} in=${String(s.requestsReceived)}`,
        );
      }
      throw new Error(
        `${(err as Error).message}; ice=${pc!.iceConnectionState}; pairs:\n${pairs.join("\n")}`,
      );
    }
    const client = new ChunkClient((globalThis as { dc?: unknown }).dc as never, {
      requestTimeoutMs: m.timeoutMs,
    });
    const id = Uint8Array.from(Buffer.from(m.chunk, "hex"));
    const t0 = Date.now();
    const first = createHash("sha256")
      .update(await client.get(id))
      .digest("hex");
    const fetchMs = Date.now() - t0;
    const initial = await selectedPair();
    // libwebrtc nominates the first pair that works (often the relay: TURN answers at once)
    // and switches when a better one succeeds; give ICE up to settleMs to do so, then fetch
    // again over the pair it settled on
    let pair = initial;
    const settleStart = Date.now();
    while (
      (pair.local === "relay" || pair.remote === "relay") &&
      Date.now() - settleStart < m.settleMs
    ) {
      await new Promise((r) => setTimeout(r, 100));
      pair = await selectedPair();
    }
    const onRelay = pair.local === "relay" || pair.remote === "relay";
    const settleMs = pair === initial ? 0 : onRelay ? -1 : Date.now() - settleStart;
    const second = createHash("sha256")
      .update(await client.get(id))
      .digest("hex");
    out({
      t: "got",
      sha256: first === second ? first : `mismatch ${first} ${second}`,
      connectMs: openedAt - started,
      fetchMs,
      settleMs,
      initial: `${initial.local}/${initial.remote}`,
      ...pair,
    });
  }
}

const rl = createInterface({ input: process.stdin });
rl.on("line", (line) => {
  handle(JSON.parse(line) as Msg).catch((e: unknown) =>
    out({ t: "error", message: e instanceof Error ? e.message : String(e) }),
  );
});
rl.on("close", () => {
  pc?.close();
  setTimeout(() => process.exit(0), 50);
});
