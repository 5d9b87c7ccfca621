// The LuCI views against the contract they rely on: the settings form's fields and checks
// against the shipped UCI config, pear-fogd --check and the agent's parser; the status view's
// ubus calls against the rpcd plugin's method list and ACL, rendered from the plugin's real
// output for a running pear-fogd.  LuCI itself is not here: the views run on small stand-ins
// for LuCI's documented JS API (view, form, rpc, poll, ui, E, _, String.format).
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, parseHours } from "../../src/agent/config";
import { startPearFogd, type PearFogd } from "../support/pear-fogd";
import { json, makeRoot, OPENWRT, type Root } from "./support";

const APP = join(OPENWRT, "luci-app-pear-fog");
const VIEWS = join(APP, "htdocs/luci-static/resources/view/pear-fog");

type Validator = (section: string, value: string) => true | string;
interface FieldSpec {
  tab: string;
  widget: string;
  name: string;
  datatype?: string;
  validate?: Validator;
  default?: string;
  deps: unknown[];
  values: string[];
}

/** LuCI's String.prototype.format for the patterns the views use (%s %d %t %1024.2mB). */
function luciFormat(this: string, ...args: unknown[]): string {
  let i = 0;
  return this.replace(/%(1024\.2mB|[sdt])/g, (_m, f: string) => {
    const v = args[i++];
    if (f === "d") return String(Math.trunc(Number(v)));
    if (f === "t") return `${Number(v)}s`;
    if (f === "1024.2mB") return `${Number(v)} B`;
    return String(v);
  });
}

/** Compiles a view the way LuCI's require does: dependencies as named function arguments. */
function loadView(file: string, deps: Record<string, unknown>): Record<string, unknown> {
  const src = readFileSync(join(VIEWS, file), "utf8");
  const required = [...src.matchAll(/^["']require ([a-z.]+)["'];$/gm)].map((m) => m[1] as string);
  for (const r of required) expect(Object.keys(deps), `stand-in for ${r}`).toContain(r);
  const names = Object.keys(deps);
  const fn = new Function(...names, src) as (...a: unknown[]) => Record<string, unknown>;
  return fn(...names.map((n) => deps[n]));
}

const view = { extend: (o: Record<string, unknown>) => Object.assign(Object.create(null), o) };
const _ = (s: string) => s;

/** form stand-in: records every field of the NamedSection. */
function formStandIn() {
  const fields: FieldSpec[] = [];
  const section: Record<string, unknown> = {};
  class Widget {}
  const widgets = Object.fromEntries(
    ["Flag", "Value", "DynamicList", "ListValue"].map((w) => [
      w,
      Object.defineProperty(class extends Widget {}, "name", { value: w }),
    ]),
  );
  class NamedSection {
    constructor(
      readonly name: string,
      readonly type: string,
    ) {
      Object.assign(section, { name, type });
    }
    tab() {}
    taboption(tab: string, W: { name: string }, name: string) {
      const f: FieldSpec = { tab, widget: W.name, name, deps: [], values: [] };
      fields.push(f);
      return Object.assign(f, {
        depends: (...a: unknown[]) => f.deps.push(a),
        value: (v: string) => f.values.push(v),
      });
    }
  }
  class Map {
    constructor(readonly config: string) {
      section.config = config;
    }
    section(S: typeof NamedSection, name: string, type: string) {
      return new S(name, type);
    }
    render() {
      return Promise.resolve("rendered");
    }
  }
  return { form: { Map, NamedSection, ...widgets }, fields, section };
}

let root: Root;
let d: PearFogd;

beforeAll(async () => {
  Object.defineProperty(String.prototype, "format", { value: luciFormat, configurable: true });
  d = await startPearFogd();
  root = makeRoot();
  root.uci("set", `pear-fog.main.ctl_socket=${d.ctlPath}`);
  root.uci("commit", "pear-fog");
  await d.putChunk(new TextEncoder().encode("chunk for the status page"));
});

afterAll(async () => {
  delete (String.prototype as unknown as Record<string, unknown>).format;
  await d?.stop();
  root?.remove();
});

describe("settings view", () => {
  const { form, fields, section } = formStandIn();
  const v = loadView("settings.js", { view, form, uci: { load: async () => [] }, _ });
  (v.render as () => unknown)();
  const byName = new Map(fields.map((f) => [f.name, f]));
  const shipped = readFileSync(join(OPENWRT, "files/pear-fog.config"), "utf8");
  const shippedValue = (o: string) =>
    new RegExp(`^\\toption ${o} '([^']*)'`, "m").exec(shipped)?.[1];

  it("is a form over section 'main' of UCI pear-fog with a field for every shipped option", () => {
    expect(section).toMatchObject({ config: "pear-fog", name: "main", type: "pear-fog" });
    const options = [...shipped.matchAll(/^\t#?(?:option|list) ([a-z_]+) /gm)].map((m) => m[1]);
    expect([...byName.keys()].sort()).toEqual([...new Set(options)].sort());
  });

  it("shipped values pass the form's checks; flags and lists use the right widgets", () => {
    for (const f of fields) {
      const v = shippedValue(f.name);
      if (v !== undefined && f.validate) expect(f.validate("main", v), f.name).toBe(true);
      if (v !== undefined && f.datatype === "uinteger") expect(v, f.name).toMatch(/^\d+$/);
      if (v !== undefined && f.datatype === "port") expect(Number(v)).toBeLessThanOrEqual(65535);
      if (f.widget === "Flag") expect(f.default, f.name).toBe(shippedValue(f.name));
    }
    expect(byName.get("hours")?.widget).toBe("DynamicList");
    expect(byName.get("rtc_address")?.widget).toBe("DynamicList");
    expect(byName.get("log_level")?.values).toEqual(["error", "warn", "info", "debug"]);
    expect(byName.get("wifi_busy_clients")?.deps).toEqual([["wifi_context", "1"]]);
  });

  it("size fields accept exactly what pear-fogd accepts", () => {
    const check = (opt: string, v: string) =>
      spawnSync(
        root.daemon,
        [
          "--config",
          join(OPENWRT, "files/pear-fog.config"),
          "--rtc-address",
          "10.0.0.1",
          `--${opt.replace(/_/g, "-")}`,
          v,
          "--check",
        ],
        { env: { ...process.env, ASAN_OPTIONS: "detect_leaks=0" } },
      ).status === 0;
    for (const opt of ["store_size", "max_message_size"]) {
      const validate = byName.get(opt)?.validate as Validator;
      for (const v of [
        "32M",
        "1G",
        "2g",
        "512K",
        "1048576",
        "64MB",
        "12x",
        "5mbit",
        "-1",
        "1.5G",
        "M",
        "1T",
      ]) {
        expect(validate("main", v) === true, `${opt}=${v}`).toBe(check(opt, v));
      }
    }
  });

  it("rates, hours and URLs: the form refuses what the daemon or the agent refuses", () => {
    const upload = byName.get("upload_cap")?.validate as Validator;
    for (const ok of ["625000", "5mbit", "1M", "2MiB/s"]) expect(upload("main", ok)).toBe(true);
    for (const bad of ["0", "0mbit", "5mbps", "1bit", "-5", "1.5M"])
      expect(upload("main", bad)).not.toBe(true);
    expect(byName.get("peer_upload_cap")?.validate?.("main", "0")).toBe(true);
    const hours = byName.get("hours")?.validate as Validator;
    for (const h of [
      "22:00-07:00",
      "00:00-24:00",
      "7:30-8:00",
      "24:00-01:00",
      "10:00-10:00",
      "9-17",
      "23:60-01:00",
    ]) {
      let agentOk = true;
      try {
        parseHours("hours", h);
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        agentOk = false;
      }
      expect(hours("main", h) === true, h).toBe(agentOk);
    }
    const url = byName.get("coordinator")?.validate as Validator;
    expect(url("main", "wss://fog.example.net/ws/node")).toBe(true);
    expect(url("main", "https://fog.example.net/")).not.toBe(true);
  });
});

describe("status view", () => {
  const declared: { object: string; method: string; params?: string[] }[] = [];
  let replies: Record<string, Record<string, unknown>> = {};
  const polls: unknown[] = [];
  const calls: [string, unknown[]][] = [];
  const rpc = {
    declare(d: { object: string; method: string; params?: string[] }) {
      declared.push(d);
      return async (...args: unknown[]) => {
        calls.push([d.method, args]);
        return replies[d.method];
      };
    },
  };
  type Node = { tag: string; attrs: Record<string, unknown>; children: unknown[] };
  const E = (tag: string, attrs: Record<string, unknown> = {}, children: unknown = []): Node => ({
    tag,
    attrs,
    children: Array.isArray(children) ? children : [children],
  });
  const text = (n: unknown): string =>
    typeof n === "string" || typeof n === "number"
      ? String(n)
      : n && typeof n === "object" && "children" in n
        ? (n as Node).children.map(text).join(" ")
        : "";
  const deps = {
    view,
    poll: { add: (fn: unknown, s: number) => polls.push([fn, s]) },
    rpc,
    ui: { createHandlerFn: (_ctx: unknown, fn: unknown) => fn },
    dom: {
      content: (node: Node, child: unknown) => {
        node.children = [child];
      },
    },
    E,
    _,
  };
  const v = loadView("status.js", deps);

  const plugin = (method: string, args = "{}") => {
    const r = root.sh("usr/libexec/rpcd/pear-fog", ["call", method], args, {
      PF_TEST_IPADDR_lan: "192.168.1.1",
    });
    return json(r.stdout);
  };

  it("calls only methods the plugin lists, with its argument names, allowed by the LuCI ACL", () => {
    const list = json(root.sh("usr/libexec/rpcd/pear-fog", ["list"]).stdout) as Record<
      string,
      Record<string, unknown>
    >;
    const acl = json(
      readFileSync(join(APP, "root/usr/share/rpcd/acl.d/luci-app-pear-fog.json"), "utf8"),
    )["luci-app-pear-fog"] as Record<string, { ubus: Record<string, string[]> }>;
    const allowed = [...(acl.read?.ubus["pear-fog"] ?? []), ...(acl.write?.ubus["pear-fog"] ?? [])];
    expect(declared.length).toBeGreaterThanOrEqual(5);
    for (const d of declared) {
      expect(d.object).toBe("pear-fog");
      expect(Object.keys(list)).toContain(d.method);
      expect(allowed).toContain(d.method);
      for (const p of d.params ?? []) expect(Object.keys(list[d.method] ?? {})).toContain(p);
    }
  });

  it("renders the plugin's real output: version, store, reachability; polls every 5 s", async () => {
    replies = {
      status: plugin("status"),
      peers: plugin("peers"),
      cache: plugin("cache", '{"offset":0,"limit":20}'),
      wifi: plugin("wifi"),
      apps: plugin("apps"),
    };
    expect(replies.status?.running).toBe(true);
    expect(replies.apps?.apps).toEqual([]);
    const data = await (v.load as () => Promise<unknown>).call(v);
    const page = (v.render as (d: unknown) => unknown).call(v, data);
    const t = text(page);
    expect(t).toContain(String(replies.status?.version));
    expect(t).toContain("1 chunks, 25 B of");
    expect(t).toContain(`192.168.1.1 udp/${d.rtcPort}`);
    expect(t).toContain("0 now, 0 since start (at most 200)");
    expect(t).toContain("No apps run here.");
    expect(polls).toHaveLength(1);
    expect((polls[0] as unknown[])[1]).toBe(5);
  });

  it("upload rate: served-bytes delta per second between polls, reset when the daemon restarts", () => {
    const r = v.rate as { add: (s: Record<string, number>) => number; samples: number[] };
    r.add({ uptime_s: 100, bytes_served_rtc_total: 1000, bytes_served_http_total: 0 });
    expect(
      r.add({ uptime_s: 105, bytes_served_rtc_total: 6000, bytes_served_http_total: 5000 }),
    ).toBe(2000);
    expect(r.add({ uptime_s: 3, bytes_served_rtc_total: 10, bytes_served_http_total: 0 })).toBe(0);
    expect(r.samples).toEqual([]);
  });

  it("refresh: the next poll replaces the page's numbers", async () => {
    const box = E("div", {}, ["old"]);
    await (v.refresh as (b: Node) => Promise<void>).call(v, box);
    expect(text(box)).not.toContain("old");
    expect(text(box)).toContain(String(replies.status?.version));
  });

  it("lists the apps with a Stop button on running ones; Stop calls app_stop with the name", async () => {
    // Field names as pear-fogd's app_list answers them (the plugin passes them through).
    const apps = {
      apps: [
        {
          name: "echo",
          version: "1.0.0",
          state: "running",
          cpu_ms: 42,
          memory_bytes: 2048,
          memory_limit: 4194304,
          upload_bytes: 5000,
          upload_refused: 3,
        },
        { name: "idle", version: "2.0.0", state: "stopped", cpu_ms: 0 },
      ],
    };
    const st = (replies.status ?? {}) as Record<string, unknown>;
    const page = (v.renderState as (d: unknown) => unknown).call(v, [st, {}, {}, {}, apps]);
    const t = text(page);
    expect(t).toContain("echo 1.0.0 running 42 ms 2048 B of 4194304 B 5000 B (3 refused) Stop");
    expect(t).toContain("idle 2.0.0 stopped 0 ms");
    const buttons: Node[] = [];
    const walk = (n: unknown) => {
      if (!n || typeof n !== "object" || !("tag" in n)) return;
      if ((n as Node).tag === "button" && text(n) === "Stop") buttons.push(n as Node);
      (n as Node).children.forEach(walk);
    };
    walk(page);
    expect(buttons).toHaveLength(1); // the stopped app has none
    calls.length = 0;
    replies.app_stop = { name: "echo", stopped: true };
    await (buttons[0]!.attrs.click as () => Promise<unknown>)();
    expect(calls[0]).toEqual(["app_stop", ["echo"]]);
    // What the plugin answers for an app that is not there: an error the page can show.
    expect(plugin("app_stop", '{"name":"nosuchapp"}')).toHaveProperty("error");
    // A plugin error instead of a list is said, not rendered as "no apps".
    const err = (v.renderState as (d: unknown) => unknown).call(v, [
      st,
      {},
      {},
      {},
      { error: "not_running", message: "no socket" },
    ]);
    expect(text(err)).toContain("Apps: no socket");
  });

  it("says so when pear-fogd is not running", () => {
    const page = (v.renderState as (d: unknown) => unknown).call(v, [
      { running: false, message: "pear-fogd: ctl status: no socket" },
      {},
      {},
      {},
    ]);
    expect(text(page)).toContain("pear-fogd is not running: pear-fogd: ctl status: no socket");
  });
});

describe("menu", () => {
  it("points at the two views and the ACL that exists", () => {
    const menu = json(
      readFileSync(join(APP, "root/usr/share/luci/menu.d/luci-app-pear-fog.json"), "utf8"),
    ) as Record<string, { action: { type: string; path: string }; depends?: { acl: string[] } }>;
    const views = Object.values(menu)
      .filter((e) => e.action.type === "view")
      .map((e) => e.action.path);
    expect(views.sort()).toEqual(["pear-fog/settings", "pear-fog/status"]);
    for (const p of views)
      expect(readFileSync(join(VIEWS, `${p.split("/")[1]}.js`), "utf8")).toMatch(
        /^["']use strict["'];/,
      );
    expect(menu["admin/services/pear-fog"]?.depends?.acl).toEqual(["luci-app-pear-fog"]);
  });
});
