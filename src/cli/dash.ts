// DASH MPDs (ISO/IEC 23009-1): the media segment URLs of a static presentation.
// Supported, per Representation, inheriting from AdaptationSet and Period (section 5.3.9):
//   - SegmentTemplate with $Number$ over a fixed @duration (count = ceil(period / duration)),
//     or with a SegmentTimeline (S@t, @d, @r, r = -1 runs to the period end), using
//     $RepresentationID$, $Number$, $Time$, $Bandwidth$ (with %0Nd widths) and $$;
//     @initialization as the init segment;
//   - SegmentList with SegmentURL@media and Initialization@sourceURL;
//   - a single-segment Representation (BaseURL only, or SegmentBase).
// BaseURL resolution MPD > Period > AdaptationSet > Representation (first BaseURL of each).
// Not supported (clear error): MPD@type="dynamic" (live), byte ranges (SegmentURL@mediaRange,
// Initialization@range, SegmentBase@indexRange is ignored as the whole file is taken), xlink.
import { CliError } from "./errors";
import { resolveUrl } from "./fetch";
import { parseXml, type XmlElement } from "./xml";

/** Most segments one MPD may expand to (guards against huge counts from tiny durations). */
export const DASH_MAX_SEGMENTS = 65_536;

/** ISO 8601 duration as used by MPD attributes (PnDTnHnMnS), seconds. */
export function parseIsoDuration(s: string): number | undefined {
  const m = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(s);
  if (!m || s === "P" || s.endsWith("T")) return undefined;
  return (
    Number(m[1] ?? 0) * 86400 +
    Number(m[2] ?? 0) * 3600 +
    Number(m[3] ?? 0) * 60 +
    Number(m[4] ?? 0)
  );
}

function child(el: XmlElement, name: string): XmlElement | undefined {
  return el.children.find((c) => c.name === name);
}

function children(el: XmlElement, name: string): XmlElement[] {
  return el.children.filter((c) => c.name === name);
}

/** Fill a SegmentTemplate string (section 5.3.9.4.4). */
export function fillTemplate(
  tpl: string,
  vars: { RepresentationID: string; Number?: number; Time?: number; Bandwidth?: number },
  what: string,
): string {
  return tpl.replace(/\$([A-Za-z]*)(?:%0(\d+)d)?\$/g, (all, id: string, w?: string) => {
    if (id === "") return "$";
    if (!["RepresentationID", "Number", "Time", "Bandwidth"].includes(id)) {
      throw new CliError(what, `unknown template identifier ${all}`);
    }
    const v = (vars as Record<string, string | number | undefined>)[id];
    if (v === undefined)
      throw new CliError(what, `template ${tpl} uses $${id}$, which is not defined here`);
    if (id === "RepresentationID" && w) throw new CliError(what, `bad template identifier ${all}`);
    return w ? String(v).padStart(Number(w), "0") : String(v);
  });
}

interface Ctx {
  what: string;
  base: string;
  periodSeconds: number;
}

function baseOf(el: XmlElement, base: string, what: string): string {
  const b = child(el, "BaseURL");
  return b ? resolveUrl(b.text.trim(), base, what) : base;
}

function int(v: string | undefined, dflt: number, what: string, name: string): number {
  if (v === undefined) return dflt;
  if (!/^\d+$/.test(v)) throw new CliError(what, `${name}="${v}" is not a non-negative integer`);
  return Number(v);
}

function templateSegments(
  tpl: Record<string, string>,
  timeline: XmlElement | undefined,
  rep: XmlElement,
  ctx: Ctx,
  out: string[],
): void {
  const id = rep.attrs.id ?? "";
  const bw =
    rep.attrs.bandwidth !== undefined
      ? int(rep.attrs.bandwidth, 0, ctx.what, "bandwidth")
      : undefined;
  const vars = { RepresentationID: id, Bandwidth: bw };
  if (tpl.initialization)
    out.push(resolveUrl(fillTemplate(tpl.initialization, vars, ctx.what), ctx.base, ctx.what));
  if (!tpl.media)
    throw new CliError(ctx.what, `Representation ${id}: SegmentTemplate without @media`);
  const timescale = int(tpl.timescale, 1, ctx.what, "timescale") || 1;
  let number = int(tpl.startNumber, 1, ctx.what, "startNumber");
  const push = (n: number, t: number | undefined): void => {
    if (out.length >= DASH_MAX_SEGMENTS)
      throw new CliError(ctx.what, `more than ${DASH_MAX_SEGMENTS} segments`);
    out.push(
      resolveUrl(
        fillTemplate(tpl.media!, { ...vars, Number: n, Time: t }, ctx.what),
        ctx.base,
        ctx.what,
      ),
    );
  };
  if (timeline) {
    const end = Math.round(ctx.periodSeconds * timescale);
    let t = 0;
    for (const s of children(timeline, "S")) {
      if (s.attrs.t !== undefined) t = int(s.attrs.t, 0, ctx.what, "S@t");
      const d = int(s.attrs.d, 0, ctx.what, "S@d");
      if (d === 0) throw new CliError(ctx.what, "SegmentTimeline S without @d");
      const r = s.attrs.r === "-1" ? -1 : int(s.attrs.r, 0, ctx.what, "S@r");
      if (r === -1 && !(ctx.periodSeconds > 0))
        throw new CliError(ctx.what, "S@r=-1 needs a period duration");
      for (let k = 0; r === -1 ? t < end : k <= r; k++) {
        push(number++, t);
        t += d;
      }
    }
    return;
  }
  const duration = int(tpl.duration, 0, ctx.what, "duration");
  if (duration === 0)
    throw new CliError(
      ctx.what,
      `Representation ${id}: SegmentTemplate needs @duration or a SegmentTimeline`,
    );
  if (!(ctx.periodSeconds > 0))
    throw new CliError(ctx.what, "no Period@duration or MPD@mediaPresentationDuration");
  const count = Math.ceil((ctx.periodSeconds * timescale) / duration - 1e-9);
  if (count > DASH_MAX_SEGMENTS)
    throw new CliError(ctx.what, `more than ${DASH_MAX_SEGMENTS} segments`);
  for (let k = 0; k < count; k++) push(number + k, k * duration);
}

function representationSegments(
  rep: XmlElement,
  set: XmlElement,
  period: XmlElement,
  ctx: Ctx,
  out: string[],
): void {
  const levels = [period, set, rep];
  // SegmentTemplate attributes and SegmentTimeline inherit, lower levels override.
  let tpl: Record<string, string> | undefined;
  let timeline: XmlElement | undefined;
  let list: XmlElement | undefined;
  for (const l of levels) {
    const t = child(l, "SegmentTemplate");
    if (t) {
      tpl = { ...(tpl ?? {}), ...t.attrs };
      timeline = child(t, "SegmentTimeline") ?? timeline;
    }
    list = child(l, "SegmentList") ?? list;
  }
  if (list) {
    const init = child(list, "Initialization");
    if (init?.attrs.range !== undefined)
      throw new CliError(ctx.what, "Initialization@range is not supported");
    if (init?.attrs.sourceURL) out.push(resolveUrl(init.attrs.sourceURL, ctx.base, ctx.what));
    for (const s of children(list, "SegmentURL")) {
      if (s.attrs.mediaRange !== undefined)
        throw new CliError(ctx.what, "SegmentURL@mediaRange is not supported");
      if (!s.attrs.media) throw new CliError(ctx.what, "SegmentURL without @media");
      out.push(resolveUrl(s.attrs.media, ctx.base, ctx.what));
    }
    return;
  }
  if (tpl) return templateSegments(tpl, timeline, rep, ctx, out);
  // SegmentBase or bare BaseURL: the Representation is one file.
  if (!child(rep, "BaseURL")) {
    throw new CliError(ctx.what, `Representation ${rep.attrs.id ?? "?"}: no segment information`);
  }
  out.push(ctx.base);
}

/** Media segment URLs (init segments first per Representation) of an MPD fetched from `url`. */
export function parseMpd(text: string, url: string): string[] {
  const what = `dash ${url}`;
  let mpd: XmlElement;
  try {
    mpd = parseXml(text);
  } catch (e) {
    throw new CliError(what, `not XML: ${(e as Error).message}`);
  }
  if (mpd.name !== "MPD") throw new CliError(what, "not a DASH MPD (root element is not MPD)");
  if ((mpd.attrs.type ?? "static") !== "static")
    throw new CliError(what, "live (dynamic) MPDs are not supported");
  const total = mpd.attrs.mediaPresentationDuration
    ? parseIsoDuration(mpd.attrs.mediaPresentationDuration)
    : undefined;
  const mpdBase = baseOf(mpd, url, what);
  const out: string[] = [];
  const periods = children(mpd, "Period");
  if (!periods.length) throw new CliError(what, "no Period");
  for (const period of periods) {
    if (period.attrs.href !== undefined)
      throw new CliError(what, "xlink Periods are not supported");
    const pd = period.attrs.duration ? parseIsoDuration(period.attrs.duration) : undefined;
    if (period.attrs.duration && pd === undefined)
      throw new CliError(what, `bad Period@duration ${period.attrs.duration}`);
    const periodSeconds = pd ?? (periods.length === 1 ? (total ?? 0) : 0);
    const pBase = baseOf(period, mpdBase, what);
    for (const set of children(period, "AdaptationSet")) {
      const sBase = baseOf(set, pBase, what);
      for (const rep of children(set, "Representation")) {
        const ctx: Ctx = { what, base: baseOf(rep, sBase, what), periodSeconds };
        representationSegments(rep, set, period, ctx, out);
      }
    }
  }
  return [...new Set(out)];
}
