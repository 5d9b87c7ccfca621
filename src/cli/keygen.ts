// `pear-fog keygen --out <path>`: new Ed25519 publisher key; prints its did:key.
import { existsSync } from "node:fs";
import { encodeKeyFile, generateKeyPair } from "../protocol/ed25519";
import { parseCommandArgs } from "./args";
import { writeFileAtomic } from "./atomic-file";
import { CliError, UsageError } from "./errors";

export const KEYGEN_HELP = `usage: pear-fog keygen --out <path> [--force]

Make an Ed25519 publisher key pair. Writes the private key file (mode 0600, one line of
JSON with the 32-byte seed and the did:key) and prints the public key as did:key:z6Mk...

  --out <path>   private key file to write (refuses to overwrite without --force)
  --force        overwrite an existing file
`;

export function keygenCommand(argv: string[], out: (s: string) => void): number {
  const p = parseCommandArgs("keygen", argv, {
    out: { type: "string", short: "o" },
    force: { type: "boolean" },
  });
  if (p.values.help) {
    out(KEYGEN_HELP);
    return 0;
  }
  if (p.positionals.length)
    throw new UsageError("keygen", `unexpected argument ${p.positionals[0]}`);
  const path = p.values.out;
  if (typeof path !== "string" || !path) throw new UsageError("keygen", "--out <path> is required");
  if (existsSync(path) && !p.values.force) {
    throw new CliError(`keygen ${path}`, "file exists (use --force to overwrite)");
  }
  const kp = generateKeyPair();
  try {
    writeFileAtomic(path, encodeKeyFile(kp), { mode: 0o600 });
  } catch (e) {
    throw new CliError(`keygen ${path}`, (e as NodeJS.ErrnoException).code ?? String(e));
  }
  out(kp.did + "\n");
  return 0;
}
