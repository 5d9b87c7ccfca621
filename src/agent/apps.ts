// Edge-compute apps on the node (issue 7, docs/apps.md): the coordinator's app.run / app.stop /
// app.remove / app.logs become sandboxes through Platform.apps; every state change goes back as
// app.state. The node verifies each bundle again (signature and hash) before it runs it, and
// grants only the capabilities the signed manifest asks for (Wi-Fi context only if the owner
// allowed it). One version of an app runs at a time: a new version stops the old one first.
//
// Browsers' app channels (docs/apps.md "Messages to browsers"): a data channel labelled
// "pear-fog-app:<name>" reaches the app <name> running here with the `messages` capability as
// {"browser": {"id", "open": true}}, then {"browser": {"id", "data"}} per message and
// {"browser": {"id", "close": true}}; the app answers with pear.send(id, value), which arrives
// at the browser as {"m": value}. Anything refused closes that channel after a
// {"close": {"code", "detail"}} notice.
import {
  verifyApp,
  type AppCoordinatorToNode,
  type AppManifest,
  type AppNodeToCoordinator,
  type AppState,
} from "../protocol/app";
import type { AppChannelEvent, AppSandboxEvent, Platform } from "../platform/platform";

export interface AppManagerOptions {
  /** The coordinator's HTTP base ("http://host:port"): bundle paths are relative to it. */
  httpBase: string;
  /** Per-app storage lives in `<dir>/<name>/`. UCI `apps_path`. Default: `<staging>/apps`. */
  dir: string;
  /** Run apps at all. UCI `apps`, boolean. Default true (where pear-fogd has a sandbox). */
  enabled: boolean;
  /** The router owner allows apps the Wi-Fi context capability. UCI `apps_wifi`. Default false. */
  allowWifi: boolean;
  /** Largest response body an app's fetch may take, bytes. Default 1 MiB. */
  fetchMaxBytes: number;
  /** An app's fetch deadline, ms. Default 10000. */
  fetchTimeoutMs: number;
  /** How often the node reports what its messaging apps sent (app.stats), ms. Default 5000. */
  statsIntervalMs: number;
  /** Crypto for verifyApp (native OpenSSL on pear-fogd). */
  sha256?: (b: Uint8Array) => Uint8Array;
  ed25519Verify?: (sig: Uint8Array, msg: Uint8Array, pub: Uint8Array) => boolean;
}

export const APP_MANAGER_DEFAULTS: Omit<AppManagerOptions, "httpBase" | "dir"> = {
  enabled: true,
  allowWifi: false,
  fetchMaxBytes: 1024 * 1024,
  fetchTimeoutMs: 10_000,
  statsIntervalMs: 5_000,
};

/** What a Wi-Fi app receives through pear.onMessage: {"wifi": WifiContextMessage}. */
export interface WifiContextMessage {
  clients: number;
  busy: boolean;
}

/** Why an app channel was closed: the code of its {"close": {code, detail}} notice. */
export type AppChannelCloseCode =
  | "not_running" // no such app runs on this node
  | "no_messages" // the app's manifest does not ask for `messages`
  | "bad_message" // not JSON (binary and oversized ones are refused by pear-fogd)
  | "busy" // the app's inbox is full
  | "app_stopped"
  | "queue_full"; // the browser does not read what the app sends

/** The notice pear-fogd sends on an app channel before closing it. */
export function appCloseNotice(code: AppChannelCloseCode | string, detail: string): string {
  return JSON.stringify({ close: { code, detail } });
}

interface BrowserChannel {
  channel: string;
  app: string;
  /** The id the app sees ({"browser": {"id"}} and pear.send(id, …)). */
  id: number;
}

interface Running {
  manifest: AppManifest;
  id: number;
  state: AppState;
  /** Resolved when the sandbox's exit event arrives. */
  exited: Promise<void>;
  stopReason?: string;
  /** pear.send totals last reported (app.stats). */
  sent?: { bytes: number; refused: number };
}

export class AppManager {
  private readonly apps = new Map<string, Running>();
  /** Serialises operations per app name. */
  private readonly queue = new Map<string, Promise<void>>();
  private wifi: WifiContextMessage | null = null;
  private readonly byChannel = new Map<string, BrowserChannel>();
  private readonly byBrowser = new Map<number, BrowserChannel>();
  private nextBrowser = 1;

  constructor(
    private readonly p: Platform,
    private readonly send: (m: AppNodeToCoordinator) => void,
    private readonly o: AppManagerOptions,
  ) {
    p.apps?.channels?.((e) => this.onChannel(e));
    if (p.apps?.uploadStats) this.scheduleStats();
  }

  /** app.stats for running apps with `messages` whose pear.send totals changed. */
  private scheduleStats(): void {
    this.p.setTimeout(() => {
      for (const r of this.apps.values()) {
        if (r.state !== "running" || !r.manifest.capabilities.messages) continue;
        const s = this.p.apps?.uploadStats?.(r.id);
        if (!s || (s.bytes === r.sent?.bytes && s.refused === r.sent.refused)) continue;
        r.sent = s;
        this.send({
          t: "app.stats",
          name: r.manifest.name,
          version: r.manifest.version,
          uploadBytes: s.bytes,
          uploadRefused: s.refused,
        });
      }
      this.scheduleStats();
    }, this.o.statsIntervalMs);
  }

  /** Stop taking browsers' app channels (the agent is stopping). */
  close(): void {
    this.p.apps?.channels?.(null);
  }

  private running(name: string): Running | undefined {
    const r = this.apps.get(name);
    return r && r.state === "running" ? r : undefined;
  }

  private refuse(channel: string, code: AppChannelCloseCode, detail: string): void {
    this.p.apps?.channelClose?.(channel, appCloseNotice(code, detail));
  }

  private forget(c: BrowserChannel): void {
    this.byChannel.delete(c.channel);
    this.byBrowser.delete(c.id);
  }

  private onChannel(e: AppChannelEvent): void {
    const host = this.p.apps;
    if (!host) return;
    if (e.type === "open") {
      const r = this.running(e.app);
      if (!r) return this.refuse(e.channel, "not_running", `app ${e.app} does not run here`);
      if (!r.manifest.capabilities.messages) {
        return this.refuse(e.channel, "no_messages", `app ${e.app} takes no browser messages`);
      }
      const c: BrowserChannel = { channel: e.channel, app: e.app, id: this.nextBrowser++ };
      if (this.nextBrowser > 0x7fffffff) this.nextBrowser = 1;
      this.byChannel.set(c.channel, c);
      this.byBrowser.set(c.id, c);
      this.deliver(r, c, `{"browser":{"id":${c.id},"open":true}}`);
      return;
    }
    const c = this.byChannel.get(e.channel);
    if (!c) return;
    if (e.type === "close") {
      this.forget(c);
      const r = this.running(c.app);
      if (r) this.deliver(r, c, `{"browser":{"id":${c.id},"close":true}}`);
      return;
    }
    const r = this.running(c.app);
    if (!r) {
      this.forget(c);
      return this.refuse(c.channel, "app_stopped", `app ${c.app} stopped`);
    }
    try {
      JSON.parse(e.text);
    } catch {
      this.forget(c);
      return this.refuse(c.channel, "bad_message", "not JSON text");
    }
    // The text is one JSON value: spliced in as is rather than parsed and printed again.
    this.deliver(r, c, `{"browser":{"id":${c.id},"data":${e.text}}}`);
  }

  private deliver(r: Running, c: BrowserChannel, json: string): void {
    try {
      this.p.apps?.post(r.id, json);
    } catch {
      // The app's inbox is full (or it is ending): this browser's channel is closed, the app
      // and its other browsers go on.
      this.forget(c);
      this.refuse(c.channel, "busy", "the app does not keep up");
    }
  }

  /** pear.send from app r: to its own browsers only. */
  private sendToBrowser(r: Running, to: number, json: string): void {
    const c = this.byBrowser.get(to);
    if (!c || c.app !== r.manifest.name) return; // closed meanwhile, or not this app's
    try {
      this.p.apps?.channelSend?.(c.channel, `{"m":${json}}`);
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code === "closed") return this.forget(c);
      this.forget(c);
      this.refuse(c.channel, "queue_full", `the browser does not read (${String(code)})`);
    }
  }

  /** The app ended: its browsers' channels close. */
  private dropBrowsers(name: string): void {
    for (const c of [...this.byChannel.values()]) {
      if (c.app !== name) continue;
      this.forget(c);
      this.refuse(c.channel, "app_stopped", `app ${name} stopped`);
    }
  }

  handle(msg: AppCoordinatorToNode): void {
    const name = msg.t === "app.run" ? msg.manifest.name : msg.name;
    const prev = this.queue.get(name) ?? Promise.resolve();
    const next = prev
      .then(() => this.apply(msg))
      .catch((e: unknown) => this.p.log("warn", `app ${name}: ${String(e)}`));
    this.queue.set(name, next);
  }

  /**
   * The router's Wi-Fi context changed: running apps granted `wifi` (allowed by the owner) get
   * {"wifi": {clients, busy}} through pear.onMessage (now and when they start).
   */
  setWifi(w: WifiContextMessage | null): void {
    if (JSON.stringify(w) === JSON.stringify(this.wifi)) return;
    this.wifi = w;
    for (const r of this.apps.values()) this.sendWifi(r);
  }

  private sendWifi(r: Running): void {
    if (!this.wifi || r.state !== "running" || !r.manifest.capabilities.wifi) return;
    try {
      this.p.apps?.post(r.id, JSON.stringify({ wifi: this.wifi }));
    } catch {
      /* its queue is full or it is ending: the next change is sent again */
    }
  }

  /** Names and states, for status output. */
  list(): { name: string; version: string; state: AppState }[] {
    return [...this.apps.values()].map((r) => ({
      name: r.manifest.name,
      version: r.manifest.version,
      state: r.state,
    }));
  }

  private report(m: AppManifest, state: AppState, reason?: string): void {
    this.send({
      t: "app.state",
      name: m.name,
      version: m.version,
      state,
      ...(reason ? { reason: reason.slice(0, 200) } : {}),
    });
  }

  private async apply(msg: AppCoordinatorToNode): Promise<void> {
    switch (msg.t) {
      case "app.run":
        return this.run(msg.manifest, msg.bundleUrl);
      case "app.stop": {
        const r = this.apps.get(msg.name);
        if (!r) return;
        await this.stopRunning(r, "stopped");
        return;
      }
      case "app.remove": {
        const r = this.apps.get(msg.name);
        if (r) await this.stopRunning(r, "removed");
        this.apps.delete(msg.name);
        return;
      }
      case "app.logs": {
        const r = this.apps.get(msg.name);
        const text = (r && r.state === "running" ? this.p.apps?.logs(r.id) : null) ?? "";
        this.send({ t: "app.logs", name: msg.name, req: msg.req, text: text.slice(-16 * 1024) });
        return;
      }
    }
  }

  private async stopRunning(r: Running, reason: string): Promise<void> {
    if (r.state === "running" || r.state === "deploying") {
      r.stopReason = reason;
      this.p.apps?.stop(r.id);
      await r.exited;
    }
  }

  private async run(m: AppManifest, bundleUrl: string): Promise<void> {
    const host = this.p.apps;
    this.report(m, "deploying");
    if (!host || !this.o.enabled) {
      return this.report(m, "failed", host ? "apps_disabled" : "no_sandbox");
    }
    let bundle: Uint8Array;
    try {
      const url = bundleUrl.startsWith("/") ? `${this.o.httpBase}${bundleUrl}` : bundleUrl;
      const res = await this.p.httpGet(url, {
        maxBytes: m.bundle.size,
        timeoutMs: 30_000,
      });
      if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
      bundle = res.body;
    } catch (e) {
      return this.report(m, "failed", `fetch_bundle: ${String(e)}`);
    }
    try {
      verifyApp(m, bundle, {
        ...(this.o.sha256 ? { sha256: this.o.sha256 } : {}),
        ...(this.o.ed25519Verify ? { ed25519Verify: this.o.ed25519Verify } : {}),
      });
    } catch (e) {
      const code = (e as { code?: string }).code ?? "invalid";
      return this.report(m, "failed", `${code}: ${String(e)}`);
    }
    if (m.capabilities.wifi && !this.o.allowWifi) {
      return this.report(
        m,
        "failed",
        "wifi_not_allowed: the router owner does not allow Wi-Fi context",
      );
    }
    const old = this.apps.get(m.name);
    if (old) await this.stopRunning(old, "replaced");
    const caps: string[] = [];
    if (m.capabilities.kv) caps.push("kv");
    // Wi-Fi context arrives as messages, so a granted wifi capability brings onMessage.
    if (m.capabilities.messages || m.capabilities.wifi) caps.push("messages");
    if (m.capabilities.fetch?.length) caps.push("fetch");
    let started!: (ok: boolean) => void;
    const startedP = new Promise<boolean>((r) => (started = r));
    let exited!: () => void;
    const r: Running = {
      manifest: m,
      id: 0,
      state: "deploying",
      exited: new Promise<void>((res) => (exited = res)),
    };
    const onEvent = (e: AppSandboxEvent): void => {
      if (e.type === "started") {
        r.state = "running";
        started(true);
        this.report(m, "running");
        this.sendWifi(r);
      } else if (e.type === "exit") {
        const wasRunning = r.state === "running";
        const stopped = e.status === "stopped" || e.status === "owner_stopped";
        r.state = stopped ? "stopped" : "failed";
        started(false);
        exited();
        this.dropBrowsers(m.name);
        if (r.stopReason === "removed" || r.stopReason === "replaced") return;
        const reason = stopped ? (r.stopReason ?? e.status) : `${e.status}: ${e.message}`;
        this.report(m, r.state, reason);
        if (!wasRunning && !stopped) this.p.log("warn", `app ${m.name} ${m.version}: ${reason}`);
      } else if (e.type === "fetch") {
        void this.fetch(r, e.url, e.req);
      } else if (e.type === "send") {
        this.sendToBrowser(r, e.to, e.json);
      } else {
        // pear.post has no receiver on the node: messages to browsers are pear.send.
        this.p.log("debug", `app ${m.name} posted ${e.json.length} bytes`);
      }
    };
    try {
      r.id = host.start(
        {
          name: m.name,
          version: m.version,
          source: new TextDecoder().decode(bundle),
          memoryBytes: m.resources.memoryMiB * 1024 * 1024,
          shares: m.resources.cpuShares,
          caps,
          storageDir: `${this.o.dir}/${m.name}`,
          storageQuota: m.resources.storageMiB * 1024 * 1024,
          fetchHosts: m.capabilities.fetch ?? [],
          uploadBytesPerSec: m.capabilities.messages ? m.resources.uploadKiBps * 1024 : 0,
        },
        onEvent,
      );
    } catch (e) {
      const code = (e as { code?: string }).code ?? "error";
      return this.report(m, "failed", `${code}: ${String(e)}`);
    }
    this.apps.set(m.name, r);
    await startedP;
  }

  private async fetch(r: Running, url: string, req: number): Promise<void> {
    const host = this.p.apps;
    if (!host) return;
    try {
      const res = await this.p.httpGet(url, {
        maxBytes: this.o.fetchMaxBytes,
        timeoutMs: this.o.fetchTimeoutMs,
      });
      const body = new TextDecoder().decode(res.body);
      host.reply(r.id, req, true, JSON.stringify({ status: res.status, body }));
    } catch (e) {
      host.reply(r.id, req, false, String(e));
    }
  }
}
