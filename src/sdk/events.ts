// A small typed event emitter for the SDK client (no node:events in browser bundles).
import type { FallbackReason, StatsSnapshot } from "./stats";

export interface SdkEvents {
  /** Periodic (statsIntervalMs) and on destroy. */
  stats: StatsSnapshot;
  /** A chunk (or file) went over HTTP. */
  fallback: { url: string; reason: FallbackReason; chunk?: string; node?: string };
  /** A node was reported to the coordinator (bad hash, timeout, refused). */
  badnode: { node: string; chunk: string; reason: "hash_mismatch" | "timeout" | "refused" };
  /** A segment or file was delivered (all bytes verified). */
  delivered: { url: string; bytes: number; bytesFog: number; bytesHttp: number; ms: number };
  /** Playback stalled (hls.js BUFFER_STALLED_ERROR). */
  stall: { bufferAheadS: number };
  /** A non-fatal problem (coordinator down, manifest reload failure...). */
  warning: { detail: string };
}

export type SdkEventName = keyof SdkEvents;
type Listener<K extends SdkEventName> = (ev: SdkEvents[K]) => void;

export class Emitter {
  private readonly listeners = new Map<SdkEventName, Set<Listener<never>>>();

  /** Subscribe; returns a function that unsubscribes. */
  on<K extends SdkEventName>(name: K, cb: Listener<K>): () => void {
    let set = this.listeners.get(name);
    if (!set) {
      set = new Set();
      this.listeners.set(name, set);
    }
    set.add(cb as Listener<never>);
    return () => set.delete(cb as Listener<never>);
  }

  emit<K extends SdkEventName>(name: K, ev: SdkEvents[K]): void {
    for (const cb of this.listeners.get(name) ?? []) {
      try {
        (cb as Listener<K>)(ev);
      } catch {
        /* a throwing listener must not break delivery */
      }
    }
  }

  clear(): void {
    this.listeners.clear();
  }
}
