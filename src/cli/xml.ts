// A small non-validating XML reader for DASH MPDs: elements, attributes and text, with the
// five predefined entities and character references (XML 1.0 sections 2.4, 4.1, 4.6).
// Namespace prefixes are dropped from element and attribute names. DOCTYPE is refused (no
// entity expansion). Input is capped by the caller.

export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  text: string;
}

export class XmlError extends Error {
  constructor(why: string) {
    super(why);
    this.name = "XmlError";
  }
}

/** Maximum element nesting accepted. */
export const XML_MAX_DEPTH = 32;

function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|amp|lt|gt|quot|apos);|&/g, (all, e?: string) => {
    if (e === undefined) throw new XmlError("bare & in text");
    switch (e) {
      case "amp":
        return "&";
      case "lt":
        return "<";
      case "gt":
        return ">";
      case "quot":
        return '"';
      case "apos":
        return "'";
    }
    const cp = e[1] === "x" ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
    if (!(cp > 0 && cp <= 0x10ffff)) throw new XmlError(`bad character reference ${all}`);
    return String.fromCodePoint(cp);
  });
}

function localName(n: string): string {
  const i = n.indexOf(":");
  return i < 0 ? n : n.slice(i + 1);
}

const TAG =
  /<(\/?)([A-Za-z_][\w.:-]*)((?:\s+[A-Za-z_][\w.:-]*\s*=\s*(?:"[^"<]*"|'[^'<]*'))*)\s*(\/?)>/y;
const ATTR = /([A-Za-z_][\w.:-]*)\s*=\s*(?:"([^"<]*)"|'([^'<]*)')/g;

/** Parse a document; returns its root element. Throws XmlError. */
export function parseXml(src: string): XmlElement {
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  let i = 0;
  while (i < src.length) {
    const lt = src.indexOf("<", i);
    const text = src.slice(i, lt < 0 ? src.length : lt);
    if (stack.length) stack[stack.length - 1]!.text += decodeEntities(text);
    else if (text.trim()) throw new XmlError("text outside the root element");
    if (lt < 0) break;
    i = lt;
    if (src.startsWith("<?", i)) {
      const end = src.indexOf("?>", i);
      if (end < 0) throw new XmlError("unterminated processing instruction");
      i = end + 2;
    } else if (src.startsWith("<!--", i)) {
      const end = src.indexOf("-->", i);
      if (end < 0) throw new XmlError("unterminated comment");
      i = end + 3;
    } else if (src.startsWith("<![CDATA[", i)) {
      const end = src.indexOf("]]>", i);
      if (end < 0 || !stack.length) throw new XmlError("bad CDATA section");
      stack[stack.length - 1]!.text += src.slice(i + 9, end);
      i = end + 3;
    } else if (src.startsWith("<!", i)) {
      throw new XmlError("DOCTYPE and declarations are not accepted");
    } else {
      TAG.lastIndex = i;
      const m = TAG.exec(src);
      if (!m) throw new XmlError(`bad tag at offset ${i}`);
      i = TAG.lastIndex;
      const name = localName(m[2]!);
      if (m[1]) {
        const open = stack.pop();
        if (!open || open.name !== name) throw new XmlError(`unexpected </${m[2]}>`);
        continue;
      }
      const attrs: Record<string, string> = Object.create(null);
      for (const a of m[3]!.matchAll(ATTR)) {
        attrs[localName(a[1]!)] = decodeEntities(a[2] ?? a[3] ?? "");
      }
      const el: XmlElement = { name, attrs, children: [], text: "" };
      if (stack.length) stack[stack.length - 1]!.children.push(el);
      else if (root) throw new XmlError("more than one root element");
      else root = el;
      if (!m[4]) {
        stack.push(el);
        if (stack.length > XML_MAX_DEPTH) throw new XmlError("nested too deeply");
      }
    }
  }
  if (stack.length) throw new XmlError(`unclosed <${stack[stack.length - 1]!.name}>`);
  if (!root) throw new XmlError("no root element");
  return root;
}
