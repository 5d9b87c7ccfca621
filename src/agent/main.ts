// `pear-fog-agent --config /etc/config/pear-fog`: the node agent on Node, next to a running
// pear-fogd (whose control socket is the same file's `ctl_socket` option). Inside pear-fogd
// (QuickJS-ng) the same startAgent runs on the native platform instead.
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createNodePlatform } from "../platform/node/platform";
import type { LogLevel } from "../platform/platform";
import { agentConfigFromUci, AGENT_SECTION_TYPE } from "./config";
import { findSection, getOption, parseUci } from "./uci/uci";
import { startAgent } from "./agent";

const USAGE = `usage: pear-fog-agent [--config FILE] [--staging DIR] [--log-level error|warn|info|debug]
  --config     UCI file with a 'config pear-fog' section (default /etc/config/pear-fog)
  --staging    directory for fill files before pear-fogd takes them (default $TMPDIR/pear-fog-agent)
  --log-level  default info`;

const CTL_SOCKET_DEFAULT = "/var/run/pear-fog/ctl.sock";

function fail(msg: string): never {
  process.stderr.write(`pear-fog-agent: ${msg}\n`);
  process.exit(2);
}

async function main(argv: string[]): Promise<void> {
  const args = {
    config: "/etc/config/pear-fog",
    staging: join(tmpdir(), "pear-fog-agent"),
    log: "info",
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const v = argv[i + 1];
    if (a === "--help" || a === "-h") {
      process.stdout.write(`${USAGE}\n`);
      return;
    }
    if ((a === "--config" || a === "--staging" || a === "--log-level") && v !== undefined) {
      if (a === "--config") args.config = v;
      else if (a === "--staging") args.staging = v;
      else args.log = v;
      i++;
      continue;
    }
    fail(`unknown or incomplete argument '${a}'\n${USAGE}`);
  }
  if (!["error", "warn", "info", "debug"].includes(args.log)) fail(`--log-level: '${args.log}'`);
  let text: string;
  try {
    text = readFileSync(args.config, "utf8");
  } catch (e) {
    fail(`${args.config}: ${(e as Error).message}`);
  }
  let cfg;
  let ctlPath = CTL_SOCKET_DEFAULT;
  try {
    const uci = parseUci(text);
    cfg = agentConfigFromUci(uci);
    const sec = findSection(uci, `@${AGENT_SECTION_TYPE}[0]`);
    ctlPath = (sec && getOption(sec, "ctl_socket")) ?? CTL_SOCKET_DEFAULT;
  } catch (e) {
    fail(`${args.config}: ${(e as Error).message}`);
  }
  let platform;
  try {
    platform = await createNodePlatform({
      ctlPath,
      stagingDir: args.staging,
      logLevel: args.log as LogLevel,
    });
  } catch (e) {
    fail(`pear-fogd control socket ${ctlPath}: ${(e as Error).message}`);
  }
  const agent = await startAgent(cfg, platform).catch((e: unknown) => fail(String(e)));
  const stop = () => {
    void agent.stop().then(() => {
      platform.close();
      process.exit(0);
    });
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

void main(process.argv.slice(2));
