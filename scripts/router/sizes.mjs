// Where the bytes of a static binary come from: GNU ld's link map (-Wl,-Map) summed per input
// archive/object, allocated sections only (.text, .rodata, .data, ...; not .bss, not debug).
import { readFileSync } from "node:fs";
import { basename } from "node:path";

/** Groups an input file path into a component name. */
export function componentOf(input) {
  const m = /([^/]+\.a)\(/.exec(input);
  const lib = m ? m[1] : basename(input);
  const groups = {
    "libssl.a": "openssl",
    "libcrypto.a": "openssl",
    "libmbedtls.a": "mbedtls",
    "libmbedx509.a": "mbedtls",
    "libmbedcrypto.a": "mbedtls",
    "libusrsctp.a": "usrsctp",
    "libqjs.a": "quickjs",
    "libpearfog.a": "pear-fogd",
    "libc.a": "libc",
    "libm.a": "libc",
    "libgcc.a": "libgcc",
    "libsoftfp.a": "libgcc",
    "libatomic.a": "libgcc",
  };
  if (groups[lib]) return groups[lib];
  if (/agent_bc/.test(lib)) return "agent-bytecode";
  if (/pear-fogd/.test(lib)) return "pear-fogd";
  return "other";
}

/**
 * Parses a GNU ld map file; returns { component: bytes } for allocated input sections.
 * Input section lines look like ` .text.name  0xADDR  0xSIZE  file` (the name may sit alone
 * on the line before when it is long).
 */
export function mapBreakdown(mapFile) {
  const text = readFileSync(mapFile, "utf8");
  const start = text.indexOf("Linker script and memory map");
  const lines = (start >= 0 ? text.slice(start) : text).split("\n");
  const out = {};
  let pending = null;
  for (const line of lines) {
    const full = /^ (\.\S+)\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S.*)$/.exec(line);
    const cont = /^\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S.*)$/.exec(line);
    let name, addr, size, input;
    if (full) {
      [, name, addr, size, input] = full;
    } else if (cont && pending) {
      name = pending;
      [, addr, size, input] = cont;
    } else {
      pending = /^ (\.\S+)\s*$/.exec(line)?.[1] ?? null;
      continue;
    }
    pending = null;
    if (/^\.(t?bss|comment|note|debug|stab|gnu\.attributes|pdr|mdebug|reginfo|MIPS)/.test(name))
      continue;
    if (Number.parseInt(addr, 16) === 0) continue;
    const c = componentOf(input.trim());
    out[c] = (out[c] ?? 0) + Number.parseInt(size, 16);
  }
  return out;
}
