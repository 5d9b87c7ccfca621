// The browser SDK's public entry; bundled as dist/pear-fog-sdk.js (IIFE, global `PearFog`).
//
//   const fog = PearFog.attachHls(hls, { coordinator, manifestUrl, publisher });
//   const peers = PearFog.peers({ coordinator });  // once per page: videos share connections
//   PearFog.attachHls(hls, { peers, manifestUrl, publisher });
//   const client = PearFog.create({ coordinator, manifestUrl, publisher });
//   const bytes = await client.fetch(url); client.stats(); client.on("stats", cb);
//   const chat = await PearFog.app("chat", { peers });  // apps: chat.send(v), chat.onmessage
import { FogClient } from "./client";
import type { ClientOptions, PeersOptions } from "./config";
import { FogPeers } from "./peers";
import { attachClientToHls, type HlsLike } from "./hls-loader";
import { JobsClient, type JobsClientOptions } from "./jobs-client";
import { JobWorker, type JobWorkerOptions } from "./jobs-worker";
import type { AppChannel, AppChannelOptions } from "./app-channel"; // apps

export type { FetchOptions } from "./client";
export { FogClient } from "./client";
export { SDK_DEFAULTS, SdkError, type SdkErrorCode, type SdkOptions } from "./config";
export type { SdkEventName, SdkEvents } from "./events";
export { fogLoaderClass, type HlsLike } from "./hls-loader";
export type { FallbackReason, NodeStats, StatsSnapshot } from "./stats";
export { ChunkRequestError } from "./chunk-client";
// jobs: the submitting side of edge-compute jobs (docs/jobs.md)
export { JobError, JobsClient, type ExecuteOptions, type JobsClientOptions } from "./jobs-client";
export { JobWorker, type JobWorkerOptions } from "./jobs-worker";

// apps: pages ↔ edge-compute apps over the data channel (docs/apps.md)
export {
  AppChannel,
  AppChannelError,
  type AppChannelErrorCode,
  type AppChannelOptions,
  type AppCloseReason,
} from "./app-channel";

export type CreateOptions = ClientOptions;
export { FogPeers } from "./peers";
export type { PeersOptions } from "./config";

/**
 * The page's coordinator link and fog-node connections, to share between clients
 * (`{ peers }`): the next video reuses open data channels. Close it when the page is done.
 */
export function peers(opts: PeersOptions): FogPeers {
  return new FogPeers(opts);
}

/** A client for pearFog.fetch(url), stats() and events. */
export function create(opts: CreateOptions): FogClient {
  return new FogClient(opts);
}

/**
 * Make `hls` (an hls.js instance, before loadSource) load media segments from the fog.
 * Returns the client (stats(), on(), destroy()); it is destroyed with the player.
 */
export function attachHls(hls: HlsLike, opts: CreateOptions): FogClient {
  const client = new FogClient(opts);
  attachClientToHls(hls, client);
  return client;
}

/** A client for edge-compute jobs: `PearFog.jobs({...}).execute(data, task, options)`. */
export function jobs(opts: JobsClientOptions): JobsClient {
  return new JobsClient(opts);
}

/** Opt this page in to run edge-compute tasks: `PearFog.jobWorker({ coordinator })`. */
export function jobWorker(opts: JobWorkerOptions): JobWorker {
  return new JobWorker(opts);
}

/**
 * apps: a channel to edge-compute app `name` (`send`, `onmessage`, `close`, `closed`). With
 * `{ peers }` it rides the page's connection to the node; with `{ coordinator }` it opens its
 * own FogPeers, closed with the channel.
 */
export async function app(
  name: string,
  opts: ({ peers: FogPeers } | PeersOptions) & AppChannelOptions,
): Promise<AppChannel> {
  if ("peers" in opts && opts.peers) return opts.peers.app(name, opts);
  const own = new FogPeers(opts as PeersOptions);
  try {
    const ch = await own.app(name, opts);
    void ch.closed.then(() => own.close());
    return ch;
  } catch (e) {
    own.close();
    throw e;
  }
}

export const PearFog = { create, attachHls, peers, jobs, jobWorker, app };
