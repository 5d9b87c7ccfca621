// A libwebrtc (@roamhq/wrtc) peer of a pear-fogd, connected the way the SDK does it but without
// a coordinator: the offer goes straight to the daemon's control socket (op "offer"), the answer
// comes back, and the "pear-fog-chunks" data channel opens. Tests and benches share it.
import wrtc from "@roamhq/wrtc";
import { ChunkClient } from "../../src/sdk/chunk-client";
import type { CtlClient } from "../../src/platform/node/ctl-client";

export type WrtcPc = InstanceType<typeof wrtc.RTCPeerConnection>;
export type WrtcDc = ReturnType<WrtcPc["createDataChannel"]>;

export interface WrtcPeer {
  pc: WrtcPc;
  dc: WrtcDc;
  /** The SDK's chunk client on the open channel. */
  client: ChunkClient;
  /** pear-fogd's session id for this peer. */
  session: string;
  /** createOffer → channel open, milliseconds. */
  connectMs: number;
}

export interface WrtcPeerOptions {
  /** The data channel must open within this, milliseconds. Default 10000. */
  openTimeoutMs?: number;
  /** ChunkClient request timeout, milliseconds. Default 60000. */
  requestTimeoutMs?: number;
}

/** Answers an SDP offer: the answer SDP and the answerer's session id. */
export type AnswerOffer = (offerSdp: string) => Promise<{ sdp: string; session: string }>;

/** Connects a new wrtc peer to the pear-fogd behind `ctl`; rejects if the channel does not open. */
export function connectWrtcPeer(
  node: { ctl: CtlClient },
  o: WrtcPeerOptions = {},
): Promise<WrtcPeer> {
  return connectWrtcPeerVia(async (sdp) => {
    const r = await node.ctl.request("offer", { sdp });
    return { sdp: r.sdp as string, session: r.session as string };
  }, o);
}

/** Connects a new wrtc peer to whatever `answer` hands the offer to (another kind of node). */
export async function connectWrtcPeerVia(
  answer: AnswerOffer,
  o: WrtcPeerOptions = {},
): Promise<WrtcPeer> {
  const openTimeoutMs = o.openTimeoutMs ?? 10_000;
  const t0 = performance.now();
  const pc = new wrtc.RTCPeerConnection();
  try {
    const dc = pc.createDataChannel("pear-fog-chunks");
    await pc.setLocalDescription(await pc.createOffer());
    const r = await answer(pc.localDescription!.sdp);
    await pc.setRemoteDescription({ type: "answer", sdp: r.sdp });
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(
        () => reject(new Error(`data channel did not open in ${openTimeoutMs} ms`)),
        openTimeoutMs,
      );
      dc.onopen = () => {
        clearTimeout(t);
        resolve();
      };
    });
    return {
      pc,
      dc,
      client: new ChunkClient(dc as never, { requestTimeoutMs: o.requestTimeoutMs ?? 60_000 }),
      session: r.session,
      connectMs: performance.now() - t0,
    };
  } catch (e) {
    pc.close();
    throw e;
  }
}
