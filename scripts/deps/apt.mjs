// Private apt configurations: apt-get / apt-cache with their own sources.list, lists, cache and
// (empty) dpkg status under one directory, so that nothing system-wide changes (no
// sources.list edit, no dpkg --add-architecture) and versions installed on this host never
// become candidates. Used by scripts/deps/quickjs.mjs (Debian unstable's qjs-src) and
// scripts/router/apt.mjs (bookworm / trixie binaries and sources for the router builds).
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/**
 * The `-o` options of a private apt configuration in `dir` (created as needed):
 * `lines` are its sources.list lines, `arches` extra APT::Architectures (none: the host's).
 * apt runs as root without its _apt sandbox user (the cache lives in root's home).
 */
export function privateAptArgs(dir, lines, arches = []) {
  mkdirSync(join(dir, "lists", "partial"), { recursive: true });
  mkdirSync(join(dir, "cache", "archives", "partial"), { recursive: true });
  const list = join(dir, "sources.list");
  writeFileSync(list, lines.join("\n") + "\n");
  const status = join(dir, "status");
  if (!existsSync(status)) writeFileSync(status, "");
  const a = [
    "-o",
    `Dir::Etc::sourcelist=${list}`,
    "-o",
    "Dir::Etc::sourceparts=/dev/null",
    "-o",
    `Dir::State::Lists=${join(dir, "lists")}`,
    "-o",
    `Dir::Cache=${join(dir, "cache")}`,
    "-o",
    `Dir::State::status=${status}`,
    "-o",
    "APT::Get::List-Cleanup=0",
    "-o",
    "APT::Sandbox::User=root",
  ];
  for (const arch of arches) a.push("-o", `APT::Architectures::=${arch}`);
  return a;
}
