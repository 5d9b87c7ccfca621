"use strict";
"require view";
"require poll";
"require rpc";
"require ui";
"require dom";

// pear-fog status: live numbers from the rpcd plugin (ubus pear-fog status/peers/cache/wifi/
// apps), refreshed every POLL_S seconds; the bandwidth chart is the served-bytes delta per
// interval. The router owner sees the edge-compute apps running here and can stop one
// (ubus pear-fog app_stop: the coordinator keeps it stopped until its developer starts it).

var POLL_S = 5; // seconds between refreshes
var CHART_POINTS = 60; // samples kept for the bandwidth chart (5 min at 5 s)

var callStatus = rpc.declare({ object: "pear-fog", method: "status", expect: { "": {} } });
var callPeers = rpc.declare({ object: "pear-fog", method: "peers", expect: { "": {} } });
var callCache = rpc.declare({
  object: "pear-fog",
  method: "cache",
  params: ["offset", "limit"],
  expect: { "": {} },
});
var callWifi = rpc.declare({ object: "pear-fog", method: "wifi", expect: { "": {} } });
var callApps = rpc.declare({ object: "pear-fog", method: "apps", expect: { "": {} } });
var callAppStop = rpc.declare({
  object: "pear-fog",
  method: "app_stop",
  params: ["name"],
  expect: { "": {} },
});
var callSetSharing = rpc.declare({
  object: "pear-fog",
  method: "set_sharing",
  params: ["enabled"],
  expect: { "": {} },
});

function bytes(n) {
  return "%1024.2mB".format(n || 0);
}

// Upload rate samples (bytes/s) from successive status replies.
function Rate() {
  this.samples = [];
  this.last = null;
}
Rate.prototype.add = function (st) {
  var total = (st.bytes_served_rtc_total || 0) + (st.bytes_served_http_total || 0);
  var now = st.uptime_s || 0;
  if (this.last && now > this.last.t && total >= this.last.total)
    this.samples.push((total - this.last.total) / (now - this.last.t));
  else if (this.last) this.samples = []; // daemon restarted: counters went back
  this.last = { t: now, total: total };
  if (this.samples.length > CHART_POINTS)
    this.samples.splice(0, this.samples.length - CHART_POINTS);
  return this.samples.length ? this.samples[this.samples.length - 1] : 0;
};

function chart(samples) {
  var max = Math.max.apply(null, samples.concat([1]));
  return E(
    "div",
    { style: "display:flex;align-items:flex-end;height:80px;gap:1px;border-bottom:1px solid #ccc" },
    samples.map(function (v) {
      return E("div", {
        title: bytes(v) + "/s",
        style: "flex:1;background:#4a90d9;height:" + Math.round((v / max) * 100) + "%",
      });
    }),
  );
}

// The apps table: one row an app, a Stop button on each running one.
function appsTable(apps, stop) {
  var list = (apps && apps.apps) || [];
  if (apps && apps.error) return E("p", {}, [_("Apps: %s").format(apps.message || apps.error)]);
  if (!list.length) return E("p", {}, [_("No apps run here.")]);
  var head = E("tr", { class: "tr table-titles" }, [
    E("th", { class: "th" }, [_("App")]),
    E("th", { class: "th" }, [_("State")]),
    E("th", { class: "th" }, [_("CPU")]),
    E("th", { class: "th" }, [_("Memory")]),
    E("th", { class: "th" }, [_("Sent to browsers")]),
    E("th", { class: "th" }, []),
  ]);
  return E(
    "table",
    { class: "table" },
    [head].concat(
      list.map(function (a) {
        return E("tr", { class: "tr" }, [
          E("td", { class: "td" }, [a.name + " " + (a.version || "")]),
          E("td", { class: "td" }, [a.state || "?"]),
          E("td", { class: "td" }, [_("%d ms").format(a.cpu_ms || 0)]),
          E("td", { class: "td" }, [
            _("%s of %s").format(bytes(a.memory_bytes), bytes(a.memory_limit)),
          ]),
          E("td", { class: "td" }, [
            _("%s (%d refused)").format(bytes(a.upload_bytes), a.upload_refused || 0),
          ]),
          E("td", { class: "td" }, [
            a.state === "running"
              ? E("button", { class: "cbi-button cbi-button-remove", click: stop(a.name) }, [
                  _("Stop"),
                ])
              : "",
          ]),
        ]);
      }),
    ),
  );
}

// Everything the page shows, in renderState's order: status, peers, cache, wifi, apps.
function fetchState() {
  return Promise.all([callStatus(), callPeers(), callCache(0, 20), callWifi(), callApps()]);
}

function row(label, value) {
  return E("tr", { class: "tr" }, [
    E("td", { class: "td left", width: "33%" }, [label]),
    E("td", { class: "td left" }, [value]),
  ]);
}

return view.extend({
  rate: null,
  last: null,
  box: null,

  load: function () {
    this.rate = new Rate();
    return fetchState();
  },

  // A click handler that stops app `name`, then refreshes the page.
  stopApp: function (name) {
    var self = this;
    return ui.createHandlerFn(this, function () {
      return callAppStop(name).then(function () {
        return self.box ? self.refresh(self.box) : null;
      });
    });
  },

  renderState: function (data) {
    var st = data[0] || {},
      peers = data[1] || {},
      cache = data[2] || {},
      wifi = data[3] || {},
      apps = data[4];
    var rate = this.rate.add(st);
    var reach = st.reachability || {};
    var rows;

    if (!st.running)
      return E("div", { class: "alert-message warning" }, [
        _("pear-fogd is not running: %s").format(st.message || "?"),
        E("br"),
        _("Check the settings and the system log (logread -e pear-fog)."),
      ]);

    rows = [
      row(_("Version"), st.version),
      row(_("Uptime"), "%t".format(st.uptime_s || 0)),
      row(_("Sharing"), st.sharing ? _("on") : _("off")),
      row(_("Upload now"), bytes(rate) + "/s"),
      row(
        _("Served"),
        _("%s over WebRTC, %s over HTTP").format(
          bytes(st.bytes_served_rtc_total),
          bytes(st.bytes_served_http_total),
        ),
      ),
      row(
        _("Viewers"),
        _("%d now, %d since start (at most %d)").format(
          peers.peers_active || 0,
          peers.peers_total || 0,
          peers.max_peers || 0,
        ),
      ),
      row(
        _("Store"),
        _("%d chunks, %s of %s").format(
          cache.store_chunks || 0,
          bytes(cache.store_bytes),
          bytes(cache.store_cap),
        ),
      ),
      row(_("Upload limit"), st.upload_cap ? bytes(st.upload_cap) + "/s" : _("none")),
      row(
        _("Reachable at"),
        (reach.rtc_addresses || [])
          .map(function (a) {
            return a + " udp/" + reach.rtc_port;
          })
          .join(", ") || _("no address on %s").format(reach.interface || "?"),
      ),
    ];
    if (wifi.enabled && wifi.clients != null)
      rows.push(
        row(
          _("Wi-Fi clients"),
          _("%d%s").format(wifi.clients, wifi.busy ? " (" + _("busy") + ")" : ""),
        ),
      );

    return E("div", {}, [
      E("table", { class: "table" }, rows),
      E("h3", {}, [_("Upload (last %d min)").format((CHART_POINTS * POLL_S) / 60)]),
      chart(this.rate.samples),
      E("h3", {}, [_("Apps")]),
      appsTable(apps, this.stopApp.bind(this)),
    ]);
  },

  render: function (data) {
    var self = this;
    var box = E("div", { id: "pear-fog-status" }, [this.renderState(data)]);
    this.box = box;
    var toggle = E(
      "button",
      {
        class: "cbi-button cbi-button-action",
        click: ui.createHandlerFn(this, function () {
          var on = !(self.last && self.last[0] && self.last[0].sharing);
          return callSetSharing(on).then(function () {
            return self.refresh(box);
          });
        }),
      },
      [_("Switch sharing")],
    );

    this.last = data;
    poll.add(function () {
      return self.refresh(box);
    }, POLL_S);

    return E("div", { class: "cbi-map" }, [
      E("h2", {}, [_("pear-fog")]),
      E("div", { class: "cbi-section" }, [box, E("p", {}, [toggle])]),
    ]);
  },

  refresh: function (box) {
    var self = this;
    return fetchState().then(function (data) {
      self.last = data;
      dom.content(box, self.renderState(data));
    });
  },

  handleSaveApply: null,
  handleSave: null,
  handleReset: null,
});
