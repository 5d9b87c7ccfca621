// The agent's entry inside pear-fogd (QuickJS-ng): the config file pear-fogd was started with
// (--config; default /etc/config/pear-fog) → agent config → native platform → startAgent.
// Built by `make -C libs/webrtc-native agent` (esbuild, then qjsc bytecode) and embedded with
// EMBED_AGENT=1, or run from a file with `pear-fogd --agent-js build/agent/agent.mjs`.
// A failure here (bad config, no pear-fogd state dir) rejects the module: pear-fogd logs it,
// counts it (pearfog_js_restarts_total) and starts the agent again after a backoff.
import "./install";
import * as fog from "pear-fog:native";
import { startAgent } from "../../agent/agent";
import { agentConfigFromUci, AGENT_SECTION_TYPE } from "../../agent/config";
import { keyPairFromSeed } from "../../protocol/ed25519";
import { findSection, getOption, parseUci } from "../../agent/uci/uci";
import type { LogLevel } from "../platform";
import { createNativePlatform, NATIVE_PLATFORM_DEFAULTS } from "./platform";
import { appOptionsFromUci } from "./apps-config";

export const ENTRY_DEFAULTS = {
  /** UCI file when pear-fogd was started without --config. */
  configPath: "/etc/config/pear-fog",
  /**
   * The one JS slice allowed for the pure-TS Ed25519's first use, ms (the usual slice is 1 s,
   * js_host.h). It builds its base-point tables: ~0.3 s under qemu-user on mipsel, seconds on
   * an emulated or slow router.
   */
  ed25519WarmupSliceMs: 60_000,
};

/**
 * pear-fogd built on mbedTLS (the router builds) has no native Ed25519 (fog.ed25519* throw) and
 * the agent uses @noble's. Its first call would be interrupted at the 1 s slice on a slow CPU,
 * and the agent would restart forever before it signs in: pay that cost here, once, at start.
 */
function warmUpEd25519(): void {
  try {
    fog.ed25519PublicKey(new Uint8Array(32));
    return; // native (OpenSSL build)
  } catch {
    // mbedTLS build
  }
  fog.extendSlice(ENTRY_DEFAULTS.ed25519WarmupSliceMs);
  const t0 = fog.monotonic();
  keyPairFromSeed(new Uint8Array(32));
  fog.log("info", `ed25519 (pure TS) ready in ${Math.round(fog.monotonic() - t0)} ms`);
}

const LEVELS = ["error", "warn", "info", "debug"];

async function main(): Promise<void> {
  const path = fog.info().configPath ?? ENTRY_DEFAULTS.configPath;
  const bytes = await fog.readFile(path);
  if (!bytes) throw new Error(`agent config ${path}: no such file`);
  warmUpEd25519();
  const uci = parseUci(fog.utf8Decode(bytes));
  const cfg = agentConfigFromUci(uci);
  const sec = findSection(uci, `@${AGENT_SECTION_TYPE}[0]`);
  const level = (sec && getOption(sec, "log_level")) ?? NATIVE_PLATFORM_DEFAULTS.logLevel;
  const platform = await createNativePlatform({
    stagingDir: (sec && getOption(sec, "agent_staging")) ?? NATIVE_PLATFORM_DEFAULTS.stagingDir,
    logLevel: LEVELS.includes(level) ? (level as LogLevel) : "info",
  });
  // apps (issue 7): the owner's caps for all apps, and where their storage lives
  const apps = appOptionsFromUci(sec);
  fog.appLimits(apps.limits);
  const agent = await startAgent(cfg, platform, { apps: apps.manager });
  // SIGTERM/SIGINT: pear-fogd waits (at most 3 s) until stopDone() before it exits.
  fog.onSignal((sig) => {
    if (sig !== "SIGTERM" && sig !== "SIGINT") return;
    agent
      .stop()
      .catch((e: unknown) => fog.log("warn", `agent stop: ${String(e)}`))
      .finally(() => {
        fog.log("info", "agent stopped");
        fog.stopDone();
      });
  });
}

await main();
