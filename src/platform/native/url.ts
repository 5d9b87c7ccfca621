// A small WHATWG-style URL for QuickJS-ng, which has none. It covers what the agent does with
// URLs: parse absolute http/https/ws/wss URLs (config, manifests' origins), resolve a relative
// reference against a base (RFC 3986 §5.2, dot segments removed), read the parts, and set
// protocol/pathname/search/hash. Hosts are lower-cased; IDNA (punycode) is not done, and
// non-ASCII hosts are refused. Other schemes are parsed as opaque ("mailto:x") with only
// protocol and pathname. The results match Node's URL for these cases (url.test.ts).

const SPECIAL_PORTS: Record<string, string> = {
  "http:": "80",
  "https:": "443",
  "ws:": "80",
  "wss:": "443",
};

export class UrlError extends TypeError {
  constructor(input: string) {
    super(`Invalid URL: ${input}`);
    this.name = "UrlError";
  }
}

// Characters percent-encoded in a path / query / fragment (WHATWG URL §1.3 percent-encode sets).
/* eslint-disable no-control-regex -- the WHATWG sets start at U+0000 */
const PATH_ENCODE = /[\x00-\x20"#<>?`{}\x7f-\uffff]/g;
const QUERY_ENCODE = /[\x00-\x20"#<>'\x7f-\uffff]/g;
const FRAGMENT_ENCODE = /[\x00-\x20"<>`\x7f-\uffff]/g;
/* eslint-enable no-control-regex */

function pctEncode(s: string, re: RegExp): string {
  return s.replace(re, (c) =>
    Array.from(new TextEncoder().encode(c))
      .map((b) => `%${b.toString(16).toUpperCase().padStart(2, "0")}`)
      .join(""),
  );
}

/** RFC 3986 §5.2.4 remove_dot_segments, with WHATWG's "%2e" spellings of dots. */
function removeDots(path: string): string {
  const segs = path.split("/");
  const out: string[] = [];
  for (let i = 0; i < segs.length; i++) {
    const s = segs[i]!.toLowerCase();
    const last = i === segs.length - 1;
    if (s === "." || s === "%2e") {
      if (last) out.push("");
    } else if (s === ".." || s === ".%2e" || s === "%2e." || s === "%2e%2e") {
      if (out.length > 1) out.pop();
      if (last) out.push("");
    } else {
      out.push(segs[i]!);
    }
  }
  const r = out.join("/");
  return r.startsWith("/") ? r : `/${r}`;
}

/** Special URLs treat "\\" as "/" before the query and fragment (WHATWG URL §4.4). */
function slashes(s: string): string {
  const end = s.search(/[?#]/);
  const head = end < 0 ? s : s.slice(0, end);
  return head.replace(/\\/g, "/") + (end < 0 ? "" : s.slice(end));
}

interface Parts {
  protocol: string;
  username: string;
  password: string;
  hostname: string;
  port: string;
  pathname: string;
  search: string;
  hash: string;
  special: boolean;
}

function parseHost(raw: string, input: string): string {
  if (raw.startsWith("[")) {
    if (!/^\[[0-9a-fA-F:.]+\]$/.test(raw)) throw new UrlError(input);
    return raw.toLowerCase();
  }
  const host = decodeURIComponent(raw).toLowerCase();
  // forbidden host code points (WHATWG URL §3.5) and anything non-ASCII (no IDNA here)
  // eslint-disable-next-line no-control-regex
  if (host === "" || /[\x00-\x20#%/:<>?@[\\\]^|\x7f-\uffff]/.test(host)) throw new UrlError(input);
  return host;
}

function splitTail(rest: string): { path: string; search: string; hash: string } {
  let hash = "";
  let search = "";
  const h = rest.indexOf("#");
  if (h >= 0) {
    hash = rest.slice(h);
    rest = rest.slice(0, h);
  }
  const q = rest.indexOf("?");
  if (q >= 0) {
    search = rest.slice(q);
    rest = rest.slice(0, q);
  }
  return { path: rest, search, hash };
}

function parseAbsolute(input: string): Parts | null {
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):(.*)$/s.exec(input);
  if (!m) return null;
  const protocol = `${m[1]!.toLowerCase()}:`;
  let rest = protocol in SPECIAL_PORTS ? slashes(m[2]!) : m[2]!;
  if (!(protocol in SPECIAL_PORTS)) {
    const t = splitTail(rest);
    return {
      protocol,
      username: "",
      password: "",
      hostname: "",
      port: "",
      pathname: t.path,
      search: t.search === "?" ? "" : t.search,
      hash: t.hash === "#" ? "" : t.hash,
      special: false,
    };
  }
  rest = rest.replace(/^\/*/, "");
  const end = rest.search(/[/?#]/);
  const authority = end < 0 ? rest : rest.slice(0, end);
  const tail = splitTail(end < 0 ? "" : rest.slice(end));
  const at = authority.lastIndexOf("@");
  const userinfo = at >= 0 ? authority.slice(0, at) : "";
  const hostport = at >= 0 ? authority.slice(at + 1) : authority;
  const pm = /^(\[[^\]]*\]|[^:]*)(?::(\d*))?$/.exec(hostport);
  if (!pm) throw new UrlError(input);
  let port = pm[2] ?? "";
  if (port !== "") {
    const n = Number(port);
    if (n > 65535) throw new UrlError(input);
    port = String(n) === SPECIAL_PORTS[protocol] ? "" : String(n);
  }
  const colon = userinfo.indexOf(":");
  return {
    protocol,
    username: colon >= 0 ? userinfo.slice(0, colon) : userinfo,
    password: colon >= 0 ? userinfo.slice(colon + 1) : "",
    hostname: parseHost(pm[1]!, input),
    port,
    pathname: removeDots(pctEncode(tail.path || "/", PATH_ENCODE)),
    search: tail.search === "?" ? "" : pctEncode(tail.search, QUERY_ENCODE),
    hash: tail.hash === "#" ? "" : pctEncode(tail.hash, FRAGMENT_ENCODE),
    special: true,
  };
}

/** RFC 3986 §5.2.2 for a relative reference against a special base. */
function resolve(ref: string, base: Parts, input: string): Parts {
  ref = slashes(ref);
  if (ref.startsWith("//")) {
    const p = parseAbsolute(`${base.protocol}${ref}`);
    if (!p) throw new UrlError(input);
    return p;
  }
  const t = splitTail(ref);
  const r: Parts = { ...base, search: base.search, hash: "" };
  if (t.path === "") {
    if (t.search) r.search = t.search === "?" ? "" : pctEncode(t.search, QUERY_ENCODE);
  } else {
    const dir = t.path.startsWith("/")
      ? ""
      : base.pathname.slice(0, base.pathname.lastIndexOf("/") + 1);
    r.pathname = removeDots(pctEncode(dir + t.path, PATH_ENCODE));
    r.search = t.search === "?" || !t.search ? "" : pctEncode(t.search, QUERY_ENCODE);
  }
  r.hash = t.hash === "#" || !t.hash ? "" : pctEncode(t.hash, FRAGMENT_ENCODE);
  return r;
}

export class Url {
  #p: Parts;

  constructor(input: string | Url, base?: string | Url) {
    const s = String(input).trim();
    const abs = parseAbsolute(s);
    if (abs) {
      this.#p = abs;
      return;
    }
    if (base === undefined) throw new UrlError(s);
    const b = parseAbsolute(String(base).trim());
    if (!b || !b.special) throw new UrlError(s);
    this.#p = resolve(s, b, s);
  }

  get protocol(): string {
    return this.#p.protocol;
  }
  set protocol(v: string) {
    const p = v.endsWith(":") ? v.toLowerCase() : `${v.toLowerCase()}:`;
    // WHATWG: special and non-special schemes do not swap
    if (this.#p.special !== p in SPECIAL_PORTS) return;
    this.#p.protocol = p;
    if (this.#p.port === SPECIAL_PORTS[p]) this.#p.port = "";
  }
  get username(): string {
    return this.#p.username;
  }
  get password(): string {
    return this.#p.password;
  }
  get hostname(): string {
    return this.#p.hostname;
  }
  get port(): string {
    return this.#p.port;
  }
  get host(): string {
    return this.#p.port ? `${this.#p.hostname}:${this.#p.port}` : this.#p.hostname;
  }
  get origin(): string {
    return this.#p.special ? `${this.#p.protocol}//${this.host}` : "null";
  }
  get pathname(): string {
    return this.#p.pathname;
  }
  set pathname(v: string) {
    if (this.#p.special)
      this.#p.pathname = removeDots(pctEncode(v.startsWith("/") ? v : `/${v}`, PATH_ENCODE));
  }
  get search(): string {
    return this.#p.search;
  }
  set search(v: string) {
    const s = v.startsWith("?") ? v.slice(1) : v;
    this.#p.search = s === "" ? "" : pctEncode(`?${s}`, QUERY_ENCODE);
  }
  get hash(): string {
    return this.#p.hash;
  }
  set hash(v: string) {
    const s = v.startsWith("#") ? v.slice(1) : v;
    this.#p.hash = s === "" ? "" : pctEncode(`#${s}`, FRAGMENT_ENCODE);
  }
  get href(): string {
    const p = this.#p;
    if (!p.special) return `${p.protocol}${p.pathname}${p.search}${p.hash}`;
    const cred =
      p.username || p.password ? `${p.username}${p.password ? `:${p.password}` : ""}@` : "";
    return `${p.protocol}//${cred}${this.host}${p.pathname}${p.search}${p.hash}`;
  }
  toString(): string {
    return this.href;
  }
  toJSON(): string {
    return this.href;
  }
}
