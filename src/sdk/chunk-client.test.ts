// ChunkClient's GET batches against a scripted channel: what goes on the wire, and how a node
// that predates batches is detected and served one GET at a time.
import { describe, expect, it } from "vitest";
import { ChunkClient, type DataChannelLike } from "./chunk-client";
import { DATA_HDR_LEN, ERROR_LEN, encodeGet, FLAG_LAST, GET_LEN } from "./chunk-protocol";

class ScriptedChannel implements DataChannelLike {
  binaryType = "arraybuffer";
  readyState = "open";
  readonly sent: Uint8Array[] = [];
  private onMessage: (ev: { data: unknown }) => void = () => undefined;
  send(data: Uint8Array<ArrayBuffer>): void {
    this.sent.push(data.slice());
  }
  addEventListener(type: "message" | "close", cb: (ev: { data: unknown }) => void): void {
    if (type === "message") this.onMessage = cb;
  }
  reply(buf: Uint8Array): void {
    this.onMessage({ data: buf.slice().buffer });
  }
  /** req_ids of the GETs in sent message `i`. */
  reqIds(i: number): number[] {
    const m = this.sent[i]!;
    const dv = new DataView(m.buffer, m.byteOffset, m.byteLength);
    return Array.from({ length: m.length / GET_LEN }, (_, k) => dv.getUint32(k * GET_LEN + 2));
  }
}

const data = (reqId: number, payload: Uint8Array, offset = 0) => {
  const out = new Uint8Array(DATA_HDR_LEN + payload.length);
  const dv = new DataView(out.buffer);
  out.set([1, 0x81, FLAG_LAST, 0]);
  dv.setUint32(4, reqId);
  dv.setUint32(8, offset);
  dv.setUint32(12, offset + payload.length);
  out.set(payload, DATA_HDR_LEN);
  return out;
};
const badRequest = (reqId: number) => {
  const out = new Uint8Array(ERROR_LEN);
  out.set([1, 0x82, 4, 0]);
  new DataView(out.buffer).setUint32(4, reqId);
  return out;
};
const id = (k: number) => new Uint8Array(32).fill(k);

describe("ChunkClient GET batches", () => {
  it("sends a node's GETs as one message of the GETs back to back", async () => {
    const dc = new ScriptedChannel();
    const c = new ChunkClient(dc);
    const replies = c.getMany([{ chunkId: id(1) }, { chunkId: id(2), offset: 5, length: 7 }]);
    expect(dc.sent).toHaveLength(1);
    const [a, b] = dc.reqIds(0);
    expect(Buffer.from(dc.sent[0]!)).toEqual(
      Buffer.concat([encodeGet(a!, id(1)), encodeGet(b!, id(2), 5, 7)]),
    );
    dc.reply(data(a!, Uint8Array.of(1)));
    dc.reply(data(b!, Uint8Array.of(2), 5));
    expect(await Promise.all(replies)).toEqual([Uint8Array.of(1), Uint8Array.of(2)]);
    // A lone GET is a plain GET; a refused GET of a batch to a node that takes batches
    // fails that request only.
    c.get(id(3)).catch(() => undefined);
    expect(dc.sent[1]!.length).toBe(GET_LEN);
    const more = c.getMany([{ chunkId: id(4) }, { chunkId: id(5) }]);
    const [x, y] = dc.reqIds(2);
    dc.reply(badRequest(x!));
    dc.reply(data(y!, Uint8Array.of(5)));
    await expect(more[0]).rejects.toMatchObject({ code: "BAD_REQUEST" });
    expect(await more[1]).toEqual(Uint8Array.of(5));
    expect(dc.sent).toHaveLength(3);
  });

  it("a chunk's own signal cancels that chunk alone; one already aborted is never asked for", async () => {
    const dc = new ScriptedChannel();
    const c = new ChunkClient(dc);
    const own = new AbortController();
    const gone = new AbortController();
    gone.abort();
    const replies = c.getMany([
      { chunkId: id(1), signal: own.signal },
      { chunkId: id(2) },
      { chunkId: id(3), signal: gone.signal },
    ]);
    expect(dc.sent).toHaveLength(1);
    const [a, b] = dc.reqIds(0);
    expect(dc.reqIds(0)).toHaveLength(2); // id(3) did not go out
    await expect(replies[2]).rejects.toMatchObject({ code: "CANCELLED" });
    own.abort();
    await expect(replies[0]).rejects.toMatchObject({ code: "CANCELLED" });
    // CANCEL for a's req_id only: ver type req_id.
    expect(dc.sent).toHaveLength(2);
    expect(dc.sent[1]![1]).toBe(0x02);
    expect(new DataView(dc.sent[1]!.buffer).getUint32(2)).toBe(a);
    dc.reply(data(a!, Uint8Array.of(9))); // late: ignored
    dc.reply(data(b!, Uint8Array.of(2)));
    expect(await replies[1]).toEqual(Uint8Array.of(2));
    expect(c.inflight).toBe(0);
  });

  it("an old node's BAD_REQUEST for a batch: every unanswered batch goes again GET by GET, its late refusals are ignored, and no batch is sent again", async () => {
    const dc = new ScriptedChannel();
    const c = new ChunkClient(dc);
    const first = c.getMany([{ chunkId: id(1) }, { chunkId: id(2) }]);
    const second = c.getMany([{ chunkId: id(3) }, { chunkId: id(4) }]);
    const ids = [...dc.reqIds(0), ...dc.reqIds(1)];
    expect(dc.sent.map((m) => m.length)).toEqual([2 * GET_LEN, 2 * GET_LEN]);
    // The old node read each batch as one bad GET: one refusal each, in order.
    dc.reply(badRequest(ids[0]!));
    expect(dc.sent.slice(2).map((m) => m.length)).toEqual([GET_LEN, GET_LEN, GET_LEN, GET_LEN]);
    expect(dc.sent.slice(2).flatMap((_, i) => dc.reqIds(i + 2))).toEqual(ids);
    dc.reply(badRequest(ids[2]!)); // the second batch's refusal, already handled
    ids.forEach((r, i) => dc.reply(data(r, Uint8Array.of(i))));
    expect(await Promise.all([...first, ...second])).toEqual(
      [0, 1, 2, 3].map((i) => Uint8Array.of(i)),
    );
    // From now on GET by GET.
    const later = c.getMany([{ chunkId: id(5) }, { chunkId: id(6) }]);
    expect(dc.sent.slice(6).map((m) => m.length)).toEqual([GET_LEN, GET_LEN]);
    for (const r of [...dc.reqIds(6), ...dc.reqIds(7)]) dc.reply(data(r, Uint8Array.of(9)));
    expect(await Promise.all(later)).toEqual([Uint8Array.of(9), Uint8Array.of(9)]);
  });
});
