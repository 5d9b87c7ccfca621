// The NAT lab: network namespaces, veth pairs and nftables rules that put a host behind a NAT of
// a chosen RFC 4787 class, all on one machine (root only). Everything the lab creates carries
// its prefix `pfn<pid>x<n>-` and is removed by destroy(); namespaces of dead test processes are
// swept when a lab starts, so a crash leaves nothing behind for long.
//
// Topology. The servers use a documentation range (RFC 5737); the NAT boxes' public side is in
// 11.0.0.0/24 because miniupnpd refuses to map ports behind a reserved address (and would tell
// its clients nothing). No namespace has a way out, so nothing reaches the real 11/8.
//
//   <p>inet  bridge br0 198.51.100.2/24 + .3/24 + 11.0.0.1/24  ← "the internet": coordinator,
//            STUN, TURN;
//            default route into a dead-end veth (private addresses vanish, no errors)
//     │ (veth: wan in the NAT box, its peer enslaved to br0)
//   <p>nat<i>  wan 11.0.0.(10+i)/24 via 11.0.0.1, lan 10.<i+1>.0.1/24, ip_forward=1, nftables
//            table pfnat (+ miniupnpd and its table when the site has UPnP)
//     │ (veth lan ↔ eth0)
//   <p>host<i> eth0 10.<i+1>.0.2/24, default via 10.<i+1>.0.1   ← pear-fogd or the browser
//
// How each NAT class is made (RFC 4787 §4.1 mapping, §5 filtering), one host per NAT box:
//   - port-restricted: `masquerade`. Linux NAT keeps the source port when it is free, and one
//     socket keeps one external port for every destination (endpoint-independent mapping);
//     conntrack only lets in replies to the exact 5-tuple (address-and-port-dependent filtering).
//   - symmetric: `masquerade fully-random`: every new conntrack entry (every new destination)
//     gets a random external port (address-and-port-dependent mapping), filtering as above.
//   - address-restricted: masquerade (EIM) + a dynamic set of (destination address, source port)
//     filled by the forward chain for every outgoing UDP datagram; a prerouting rule DNATs an
//     incoming datagram whose (source address, destination port) is in the set to the host
//     (address-dependent filtering: any port of an address the host has sent to gets in).
//   - full-cone: masquerade (EIM) + a dynamic set of source ports; any incoming datagram to a
//     port in the set is DNATed to the host (endpoint-independent filtering).
// Unsolicited UDP that matches nothing is dropped without an ICMP error (filter_in), as home
// routers do. The sets rely on the port being kept (external = internal port); the probe (probe.ts) checks
// every box's behaviour from outside, which is what the lab test asserts. Set entries and
// mappings time out after NAT_TIMEOUT_S of silence (RFC 4787 REQ-5 asks for >= 120 s).
import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export type NatClass = "full-cone" | "address-restricted" | "port-restricted" | "symmetric";
export const NAT_CLASSES: readonly NatClass[] = [
  "full-cone",
  "address-restricted",
  "port-restricted",
  "symmetric",
];

/** Idle timeout of the full-cone / address-restricted filter sets, seconds. */
export const NAT_TIMEOUT_S = 120;
/** The two addresses of the "internet" namespace (servers live there). */
export const INET_IPS = ["198.51.100.2", "198.51.100.3"] as const;
/** The internet namespace's address on the NAT boxes' public subnet (their gateway). */
const WAN_GATEWAY = "11.0.0.1";

export interface Site {
  index: number;
  nat: NatClass;
  /** The NAT box namespace. */
  natNs: string;
  /** The namespace of the host behind it. */
  hostNs: string;
  /** The NAT's public (WAN) address. */
  wanIp: string;
  /** The host's private address. */
  hostIp: string;
  /** miniupnpd (UPnP-IGD, NAT-PMP, PCP) runs on the NAT box. */
  upnp: boolean;
  /** The NAT box's LAN address (the host's gateway, where NAT-PMP/PCP requests go). */
  gatewayIp: string;
}

export interface Lab {
  prefix: string;
  inetNs: string;
  sites: Site[];
  /**
   * Rebuild site i's NAT box with another class, with or without miniupnpd (new namespace:
   * no conntrack state or mappings left).
   */
  setNat(i: number, nat: NatClass, upnp?: boolean): void;
  /** miniupnpd's log of site i (empty without UPnP). */
  upnpLog(i: number): string;
  /** Resolves when site i's miniupnpd listens for NAT-PMP/PCP (at once without UPnP). */
  upnpReady(i: number): Promise<void>;
  /** Run a command in a namespace; returns stdout. */
  exec(ns: string, cmd: string, args: string[]): string;
  /** Start a long-running command in a namespace (stdio piped by default). */
  spawn(ns: string, cmd: string, args: string[], opts?: SpawnOptions): ChildProcess;
  destroy(): void;
}

let labCount = 0;

function run(args: string[], input?: string): string {
  try {
    return execFileSync(args[0]!, args.slice(1), {
      encoding: "utf8",
      input,
      stdio: ["pipe", "pipe", "pipe"],
    });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${args.join(" ")}: ${e.stderr?.trim() || e.message}`);
  }
}

function nsList(): string[] {
  return run(["ip", "netns", "list"])
    .split("\n")
    .map((l) => l.split(" ")[0]!)
    .filter(Boolean);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Remove namespaces left by lab processes that are gone. */
export function sweepStaleLabs(): void {
  for (const ns of nsList()) {
    const m = /^pfn(\d+)x\d+-/.exec(ns);
    if (m && !alive(Number(m[1]))) run(["ip", "netns", "del", ns]);
  }
}

/** The nftables ruleset of a NAT box (see the file comment for what makes each class). */
export function natRuleset(nat: NatClass, hostIp: string): string {
  const masq = nat === "symmetric" ? "masquerade fully-random" : "masquerade";
  const lines = [
    "table ip pfnat {",
    `  set eif { type inet_service; flags dynamic,timeout; timeout ${NAT_TIMEOUT_S}s; }`,
    `  set adf { type ipv4_addr . inet_service; flags dynamic,timeout; timeout ${NAT_TIMEOUT_S}s; }`,
    "  chain filter_fwd {",
    "    type filter hook forward priority 0; policy accept;",
  ];
  if (nat === "full-cone")
    lines.push('    iifname "lan" meta l4proto udp update @eif { udp sport }');
  if (nat === "address-restricted")
    lines.push('    iifname "lan" meta l4proto udp update @adf { ip daddr . udp sport }');
  // unsolicited datagrams to the box itself are dropped silently, as home routers do: an ICMP
  // port unreachable back makes coturn close the allocation that sent it (ECONNREFUSED)
  lines.push(
    "  }",
    "  chain filter_in {",
    "    type filter hook input priority 0; policy accept;",
    '    iifname "wan" meta l4proto udp drop',
  );
  lines.push(
    "  }",
    "  chain nat_pre {",
    "    type nat hook prerouting priority -100; policy accept;",
  );
  if (nat === "full-cone") lines.push(`    iifname "wan" udp dport @eif dnat to ${hostIp}`);
  if (nat === "address-restricted")
    lines.push(`    iifname "wan" ip saddr . udp dport @adf dnat to ${hostIp}`);
  lines.push(
    "  }",
    "  chain nat_post {",
    "    type nat hook postrouting priority 100; policy accept;",
    `    oifname "wan" ${masq}`,
    "  }",
    "}",
  );
  return lines.join("\n") + "\n";
}

/**
 * miniupnpd's nftables skeleton (its defaults: table inet "filter", chains "miniupnpd",
 * "prerouting_miniupnpd", "postrouting_miniupnpd"), where it adds one DNAT rule per mapping.
 */
export const MINIUPNPD_RULESET = `table inet filter {
  chain forward {
    type filter hook forward priority 0; policy accept;
    jump miniupnpd
  }
  chain miniupnpd {
  }
  chain prerouting {
    type nat hook prerouting priority -100; policy accept;
    jump prerouting_miniupnpd
  }
  chain prerouting_miniupnpd {
  }
  chain postrouting {
    type nat hook postrouting priority 100; policy accept;
    jump postrouting_miniupnpd
  }
  chain postrouting_miniupnpd {
  }
}
`;

/** miniupnpd.conf for a NAT box: UPnP-IGD, NAT-PMP and PCP for its LAN, ports >= 1024 only. */
export function miniupnpdConf(s: Site, dir: string): string {
  return [
    "ext_ifname=wan",
    "listening_ip=lan",
    `ext_ip=${s.wanIp}`,
    "enable_natpmp=yes",
    "enable_upnp=yes",
    "secure_mode=yes",
    "system_uptime=yes",
    `lease_file=${dir}/leases`,
    "uuid=3ad788df-91fe-423f-9d63-d8075a242457",
    `allow 1024-65535 10.${s.index + 1}.0.0/24 1024-65535`,
    "deny 0-65535 0.0.0.0/0 0-65535",
    "",
  ].join("\n");
}

/** Create the internet namespace and one NAT'ed site per entry of `nats`. */
export function createLab(nats: NatClass[]): Lab {
  if (process.getuid?.() !== 0) throw new Error("the NAT lab needs root (netns, nftables)");
  sweepStaleLabs();
  const prefix = `pfn${process.pid}x${labCount++}-`;
  const inetNs = `${prefix}inet`;
  const created: string[] = [];
  const addNs = (ns: string) => {
    run(["ip", "netns", "add", ns]);
    created.push(ns);
    run(["ip", "-n", ns, "link", "set", "lo", "up"]);
  };
  const sites: Site[] = nats.map((nat, i) => ({
    index: i,
    nat,
    natNs: `${prefix}nat${i}`,
    hostNs: `${prefix}host${i}`,
    wanIp: `11.0.0.${10 + i}`,
    hostIp: `10.${i + 1}.0.2`,
    upnp: false,
    gatewayIp: `10.${i + 1}.0.1`,
  }));
  const dir = mkdtempSync(join(tmpdir(), "pf-natlab-"));
  const upnpd = new Map<number, { proc: ChildProcess; log: string }>();
  const stopUpnp = (i: number) => {
    const u = upnpd.get(i);
    if (!u) return;
    upnpd.delete(i);
    if (u.proc.exitCode === null && u.proc.signalCode === null) u.proc.kill("SIGKILL");
  };
  const startUpnp = (s: Site) => {
    const d = join(dir, `upnp${s.index}`);
    rmSync(d, { recursive: true, force: true });
    mkdirSync(d, { recursive: true });
    run(["ip", "netns", "exec", s.natNs, "nft", "-f", "-"], MINIUPNPD_RULESET);
    writeFileSync(join(d, "miniupnpd.conf"), miniupnpdConf(s, d));
    const proc = spawn(
      "ip",
      [
        "netns",
        "exec",
        s.natNs,
        "miniupnpd",
        "-d",
        "-f",
        join(d, "miniupnpd.conf"),
        "-P",
        join(d, "pid"),
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    const u = { proc, log: "" };
    proc.stdout!.on("data", (b: Buffer) => (u.log += b.toString()));
    proc.stderr!.on("data", (b: Buffer) => (u.log += b.toString()));
    upnpd.set(s.index, u);
  };

  const buildNat = (s: Site) => {
    const i = s.index;
    addNs(s.natNs);
    run(["ip", "-n", s.natNs, "link", "add", "wan", "type", "veth", "peer", "name", `w${i}`]);
    run(["ip", "-n", s.natNs, "link", "set", `w${i}`, "netns", inetNs]);
    run(["ip", "-n", inetNs, "link", "set", `w${i}`, "master", "br0", "up"]);
    run(["ip", "-n", s.natNs, "addr", "add", `${s.wanIp}/24`, "dev", "wan"]);
    run(["ip", "-n", s.natNs, "link", "set", "wan", "up"]);
    run(["ip", "-n", s.natNs, "route", "add", "default", "via", WAN_GATEWAY]);
    run(["ip", "-n", s.natNs, "link", "add", "lan", "type", "veth", "peer", "name", "eth0"]);
    run(["ip", "-n", s.natNs, "link", "set", "eth0", "netns", s.hostNs]);
    run(["ip", "-n", s.natNs, "addr", "add", `10.${i + 1}.0.1/24`, "dev", "lan"]);
    run(["ip", "-n", s.natNs, "link", "set", "lan", "up"]);
    run(["ip", "netns", "exec", s.natNs, "sysctl", "-qw", "net.ipv4.ip_forward=1"]);
    run(["ip", "netns", "exec", s.natNs, "nft", "-f", "-"], natRuleset(s.nat, s.hostIp));
    run(["ip", "-n", s.hostNs, "addr", "add", `${s.hostIp}/24`, "dev", "eth0"]);
    run(["ip", "-n", s.hostNs, "link", "set", "eth0", "up"]);
    run(["ip", "-n", s.hostNs, "route", "add", "default", "via", `10.${i + 1}.0.1`]);
  };

  const destroy = () => {
    for (const i of [...upnpd.keys()]) stopUpnp(i);
    rmSync(dir, { recursive: true, force: true });
    for (const ns of created.splice(0).reverse()) {
      try {
        run(["ip", "netns", "del", ns]);
      } catch {
        /* already gone */
      }
    }
  };

  try {
    addNs(inetNs);
    run(["ip", "-n", inetNs, "link", "add", "br0", "type", "bridge"]);
    for (const ip of [...INET_IPS, WAN_GATEWAY])
      run(["ip", "-n", inetNs, "addr", "add", `${ip}/24`, "dev", "br0"]);
    run(["ip", "-n", inetNs, "link", "set", "br0", "up"]);
    // the rest of the world: a default route into a veth whose other end is down, where datagrams to
    // addresses nobody here has (the private host candidates ICE tries) vanish without an
    // error, as they would upstream (coturn closes an allocation on ENETUNREACH)
    run(["ip", "-n", inetNs, "link", "add", "up0", "type", "veth", "peer", "name", "up1"]);
    run(["ip", "-n", inetNs, "link", "set", "up0", "up"]);
    run(["ip", "-n", inetNs, "route", "add", "default", "dev", "up0"]);
    for (const s of sites) {
      addNs(s.hostNs);
      buildNat(s);
    }
  } catch (err) {
    destroy();
    throw err;
  }

  return {
    prefix,
    inetNs,
    sites,
    setNat(i, nat, upnp = false) {
      const s = sites[i]!;
      stopUpnp(i);
      // deleting a namespace frees its veths asynchronously; deleting the links first is
      // synchronous, so the new box can take the same names at once
      run(["ip", "-n", inetNs, "link", "del", `w${i}`]);
      run(["ip", "-n", s.natNs, "link", "del", "lan"]);
      run(["ip", "netns", "del", s.natNs]);
      created.splice(created.indexOf(s.natNs), 1);
      s.nat = nat;
      s.upnp = upnp;
      buildNat(s);
      if (upnp) startUpnp(s);
    },
    upnpLog: (i) => upnpd.get(i)?.log ?? "",
    async upnpReady(i) {
      const t0 = Date.now();
      for (;;) {
        const u = upnpd.get(i);
        if (!u) return;
        if (u.log.includes("Listening for NAT-PMP")) return;
        if (u.proc.exitCode !== null || Date.now() - t0 > 5000)
          throw new Error(`miniupnpd on site ${i} did not start:\n${u.log}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    exec: (ns, cmd, args) => run(["ip", "netns", "exec", ns, cmd, ...args]),
    spawn: (ns, cmd, args, opts) =>
      spawn("ip", ["netns", "exec", ns, cmd, ...args], { stdio: "pipe", ...opts }),
    destroy,
  };
}
