"use strict";
"require view";
"require form";
"require uci";

// pear-fog settings: a form.Map over /etc/config/pear-fog (section 'main').  Each field is an
// option of the shipped config; values are checked here with the same rules pear-fogd and the
// agent apply, so a saved configuration starts.  Saving runs LuCI's apply, which fires the
// service's reload trigger (procd_add_reload_trigger pear-fog).

// Sizes and rates: the grammar pear-fogd, the agent and lib.sh share (docs/openwrt.md):
//   size  DIGITS[UNIT]           UNIT (any case, 1024-based): b k kb kib m mb mib g gb gib t tb tib
//   rate  DIGITS[UNIT|BITS][/s]  bytes/s; BITS (any case, 1000-based): bit kbit mbit gbit
// No fraction, sign or space; at most 2^53-1; a rate that is not 0 but under 1 B/s is refused.
// Returns the bytes (per second) or null.
var SIZE_UNITS = {
  "": 1,
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1048576,
  mb: 1048576,
  mib: 1048576,
  g: 1073741824,
  gb: 1073741824,
  gib: 1073741824,
  t: 1099511627776,
  tb: 1099511627776,
  tib: 1099511627776,
};
var BIT_UNITS = { bit: 1, kbit: 1000, mbit: 1000000, gbit: 1000000000 };

function parseAmount(value, rate) {
  var m = (rate ? /^([0-9]+)([a-zA-Z]*)(?:\/s)?$/ : /^([0-9]+)([a-zA-Z]*)$/).exec(value);
  if (!m) return null;
  var unit = m[2].toLowerCase(),
    mul,
    div = 1;
  if (Object.prototype.hasOwnProperty.call(SIZE_UNITS, unit)) mul = SIZE_UNITS[unit];
  else if (rate && Object.prototype.hasOwnProperty.call(BIT_UNITS, unit)) {
    mul = BIT_UNITS[unit];
    div = 8;
  } else return null;
  var n = BigInt(m[1]);
  var r = (n * BigInt(mul)) / BigInt(div);
  if (r > BigInt(Number.MAX_SAFE_INTEGER) || (n > BigInt(0) && r === BigInt(0))) return null;
  return Number(r);
}

function validateSize(section_id, value) {
  if (value == null || value === "") return true;
  return parseAmount(value, false) !== null
    ? true
    : _("Expecting a size: a whole number with an optional K, M, G or T suffix (1024-based)");
}

// port_mapping: auto, off, or a comma list of pcp, upnp, natpmp (pear-fogd's portmap_parse_protocols).
function validatePortMapping(section_id, value) {
  if (value == null || value === "" || value === "auto" || value === "off") return true;
  var ok = value.split(",").every(function (p) {
    return p === "pcp" || p === "upnp" || p === "natpmp";
  });
  return ok ? true : _("Expecting auto, off or some of pcp,upnp,natpmp separated by commas");
}

// stun_server: IPv4:PORT[,IPv4:PORT] (pear-fogd takes IP literals only).
function validateStunServers(section_id, value) {
  if (value == null || value === "") return true;
  var ok = value.split(",").every(function (e) {
    var m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3}):(\d{1,5})$/.exec(e);
    if (!m) return false;
    for (var i = 1; i <= 4; i++) if (Number(m[i]) > 255) return false;
    return Number(m[5]) >= 1 && Number(m[5]) <= 65535;
  });
  return ok ? true : _("Expecting IPv4:port entries separated by commas");
}

// upload_cap must be > 0 (pear-fogd and the agent refuse 0).
function validateRate(positive) {
  return function (section_id, value) {
    if (value == null || value === "") return true;
    var n = parseAmount(value, true);
    if (n === null)
      return _("Expecting a rate: bytes per second (625000, 2M) or bits (5mbit, 500kbit)");
    return positive && n === 0 ? _("Must be greater than 0") : true;
  };
}

// 'HH:MM-HH:MM', 24:00 allowed as an end, start != end.
function validateHours(section_id, value) {
  if (value == null || value === "") return true;
  var m = /^([0-9]{1,2}):([0-9]{2})-([0-9]{1,2}):([0-9]{2})$/.exec(value);
  if (!m || +m[1] > 23 || +m[2] > 59 || +m[3] > 24 || +m[4] > 59 || (+m[3] === 24 && +m[4] !== 0))
    return _("Expecting a window like 22:00-07:00");
  if (m[1] * 60 + +m[2] === m[3] * 60 + +m[4]) return _("Start and end must differ");
  return true;
}

function validatePath(section_id, value) {
  return value == null || value === "" || value.charAt(0) === "/"
    ? true
    : _("Expecting an absolute path");
}

function validateWsUrl(section_id, value) {
  return value == null || value === "" || /^wss?:\/\/[^\s/]+/.test(value)
    ? true
    : _("Expecting a ws:// or wss:// URL");
}

return view.extend({
  load: function () {
    return uci.load("pear-fog");
  },

  render: function () {
    var m, s, o;

    m = new form.Map(
      "pear-fog",
      _("pear-fog"),
      _(
        "This router as a node of the pear-fog content delivery fog: browsers nearby fetch signed video chunks from it over WebRTC.",
      ),
    );

    s = m.section(form.NamedSection, "main", "pear-fog");
    s.addremove = false;
    s.tab("sharing", _("Sharing"));
    s.tab("store", _("Storage"));
    s.tab("network", _("Network"));
    s.tab("apps", _("Apps"));
    s.tab("advanced", _("Advanced"));

    o = s.taboption(
      "sharing",
      form.Flag,
      "sharing",
      _("Share upload"),
      _("Serve viewers. Off: the node refuses new sessions."),
    );
    o.default = "0";
    o.rmempty = false;

    o = s.taboption(
      "sharing",
      form.Value,
      "upload_cap",
      _("Upload limit"),
      _("For the whole node: bytes/s (625000, 2M) or bits (5mbit = 625000 bytes/s)."),
    );
    o.validate = validateRate(true);
    o.placeholder = "625000";

    o = s.taboption(
      "sharing",
      form.Value,
      "peer_upload_cap",
      _("Upload limit per viewer"),
      _("0: no per-viewer limit."),
    );
    o.validate = validateRate(false);
    o.placeholder = "0";

    o = s.taboption(
      "sharing",
      form.Value,
      "monthly_cap",
      _("Monthly upload cap"),
      _("Bytes per calendar month (K/M/G/T suffix); 0: no cap."),
    );
    o.validate = validateSize;
    o.placeholder = "0";

    o = s.taboption(
      "sharing",
      form.DynamicList,
      "hours",
      _("Sharing hours"),
      _("Windows of local time like 22:00-07:00; none: any time."),
    );
    o.validate = validateHours;

    o = s.taboption(
      "store",
      form.Value,
      "store_path",
      _("Store directory"),
      _(
        "/tmp is RAM. Use USB storage (e.g. /mnt/sda1/pear-fog) for a larger store; a missing directory outside /tmp keeps the service stopped.",
      ),
    );
    o.validate = validatePath;
    o.placeholder = "/tmp/pear-fog";

    o = s.taboption(
      "store",
      form.Value,
      "store_size",
      _("Store size"),
      _("K/M/G/T suffix; lowered at start to what the file system can hold."),
    );
    o.validate = validateSize;
    o.placeholder = "32M";

    o = s.taboption(
      "store",
      form.Value,
      "verify_interval",
      _("Hash check validity (s)"),
      _("0: re-hash every chunk on every read."),
    );
    o.datatype = "uinteger";
    o.placeholder = "300";

    o = s.taboption(
      "network",
      form.Value,
      "interface",
      _("Interface"),
      _("Its addresses are advertised to browsers when no address is set below."),
    );
    o.placeholder = "lan";

    o = s.taboption("network", form.Value, "bind", _("Bind address"));
    o.datatype = "ipaddr";
    o.placeholder = "0.0.0.0";

    o = s.taboption("network", form.DynamicList, "rtc_address", _("Advertised addresses"));
    o.datatype = "ipaddr";

    o = s.taboption("network", form.Value, "rtc_port", _("WebRTC port (UDP)"));
    o.datatype = "port";
    o.placeholder = "47100";

    o = s.taboption("network", form.Value, "http_port", _("HTTP port (TCP)"), _("0: off."));
    o.datatype = "port";
    o.placeholder = "47101";

    o = s.taboption("network", form.Value, "max_peers", _("Viewers at most"));
    o.datatype = "uinteger";
    o.placeholder = "200";

    o = s.taboption(
      "network",
      form.Value,
      "port_mapping",
      _("Port mapping"),
      _(
        "Ask the gateway to forward the WebRTC port: auto (PCP, UPnP-IGD, NAT-PMP), off, or some of pcp,upnp,natpmp.",
      ),
    );
    o.validate = validatePortMapping;
    o.placeholder = "auto";

    o = s.taboption(
      "network",
      form.Value,
      "gateway",
      _("Port-mapping gateway"),
      _("Empty: the default route's."),
    );
    o.datatype = "ip4addr";

    o = s.taboption(
      "network",
      form.Value,
      "stun_server",
      _("STUN servers"),
      _("IP:PORT[,IP:PORT] for this node's public address; empty: the coordinator's."),
    );
    o.validate = validateStunServers;

    o = s.taboption(
      "network",
      form.Flag,
      "ice_lite",
      _("ICE-lite"),
      _("Only for a node on a public address: send no connectivity checks of its own."),
    );
    o.default = "0";

    o = s.taboption(
      "network",
      form.Flag,
      "wifi_context",
      _("Wi-Fi context"),
      _(
        "Watch Wi-Fi clients (hostapd) to favour viewers at home and back off when the household is busy.",
      ),
    );
    o.default = "0";

    o = s.taboption("network", form.Value, "wifi_busy_clients", _("Busy from (Wi-Fi clients)"));
    o.datatype = "uinteger";
    o.placeholder = "8";
    o.depends("wifi_context", "1");

    o = s.taboption(
      "network",
      form.Value,
      "wifi_busy_upload_cap",
      _("Upload limit while busy"),
      _(
        "Applied while the household is busy, upload limit restored afterwards; 0: leave it to the agent.",
      ),
    );
    o.validate = validateRate(false);
    o.placeholder = "0";
    o.depends("wifi_context", "1");

    o = s.taboption(
      "apps",
      form.Flag,
      "apps",
      _("Run edge-compute apps"),
      _(
        "Sandboxed apps the coordinator deploys (docs/apps.md); `ubus call pear-fog apps` lists them.",
      ),
    );
    o.default = "1";

    o = s.taboption(
      "apps",
      form.Value,
      "apps_cpu",
      _("CPU for all apps"),
      _("Permille of one core (1-64000) that all apps together may use."),
    );
    o.datatype = "range(1,64000)";
    o.placeholder = "500";
    o.depends("apps", "1");

    o = s.taboption(
      "apps",
      form.Value,
      "apps_memory",
      _("Memory for all apps"),
      _("The sum of running apps' memory limits; K/M/G suffix."),
    );
    o.validate = validateSize;
    o.placeholder = "64M";
    o.depends("apps", "1");

    o = s.taboption(
      "apps",
      form.Value,
      "apps_upload",
      _("Upload for all apps"),
      _(
        "KiB/s that all apps' messages to browsers may use together (0: only each app's own allowance).",
      ),
    );
    o.datatype = "range(0,1048576)";
    o.placeholder = "1024";
    o.depends("apps", "1");

    o = s.taboption("apps", form.Value, "apps_path", _("App storage directory"));
    o.validate = validatePath;
    o.depends("apps", "1");

    o = s.taboption(
      "apps",
      form.Flag,
      "apps_wifi",
      _("Apps may read the Wi-Fi context"),
      _("Client count and busy flag, for apps that ask for it."),
    );
    o.default = "0";
    o.depends("apps", "1");

    o = s.taboption(
      "apps",
      form.Value,
      "job_slots",
      _("Job tasks at once"),
      _("Verified parallel jobs (docs/jobs.md); 0: take none. They share the apps' CPU."),
    );
    o.datatype = "range(0,16)";
    o.placeholder = "1";

    o = s.taboption("advanced", form.Value, "coordinator", _("Coordinator"));
    o.validate = validateWsUrl;
    o.placeholder = "wss://coordinator.pear-fog.net/ws/node";

    o = s.taboption("advanced", form.Value, "key_path", _("Node key file"));
    o.validate = validatePath;
    o.placeholder = "/etc/pear-fog/node.key";

    o = s.taboption(
      "advanced",
      form.Value,
      "agent_js",
      _("Agent module"),
      _(
        "A .js/.mjs or qjsc bytecode file pear-fogd runs instead of its embedded agent; empty: the embedded one.",
      ),
    );
    o.validate = validatePath;

    o = s.taboption(
      "advanced",
      form.Value,
      "max_message_size",
      _("Largest message"),
      _("SDP max-message-size; K/M suffix."),
    );
    o.validate = validateSize;
    o.placeholder = "256K";

    o = s.taboption("advanced", form.Value, "ctl_socket", _("Control socket"));
    o.validate = validatePath;
    o.placeholder = "/var/run/pear-fog/ctl.sock";

    o = s.taboption("advanced", form.ListValue, "log_level", _("Log level"));
    o.value("error");
    o.value("warn");
    o.value("info");
    o.value("debug");
    o.default = "info";

    return m.render();
  },
});
