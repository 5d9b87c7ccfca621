// `pear-fog` command line: dispatches subcommands; errors are one line
// `pear-fog: <what>: <why>` with exit code 1 (2 for usage errors).
import { appCommand } from "./app";
import { CliError, oneLine } from "./errors";
import { keygenCommand } from "./keygen";
import { publishCommand } from "./publish";
import { verifyCommand } from "./verify";

type Command = (argv: string[], out: (s: string) => void) => number | Promise<number>;

const COMMANDS: Record<string, { run: Command; summary: string }> = {
  keygen: { run: keygenCommand, summary: "make an Ed25519 publisher key (prints its did:key)" },
  publish: { run: publishCommand, summary: "chunk content and write a signed manifest" },
  verify: { run: verifyCommand, summary: "check a manifest's signature, Merkle root and chunks" },
  app: { run: appCommand, summary: "deploy, update, start, stop, delete edge apps; status, logs" },
};

const HELP = `usage: pear-fog <command> [options]

commands:
${Object.entries(COMMANDS)
  .map(([n, c]) => `  ${n.padEnd(10)}${c.summary}`)
  .join("\n")}

'pear-fog <command> --help' describes each.
`;

export async function main(argv: string[]): Promise<number> {
  const out = (s: string): void => void process.stdout.write(s);
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    (name === undefined ? process.stderr.write.bind(process.stderr) : out)(HELP);
    return name === undefined ? 2 : 0;
  }
  const cmd = COMMANDS[name];
  if (!cmd) {
    process.stderr.write(`pear-fog: unknown command "${name}" (try pear-fog --help)\n`);
    return 2;
  }
  try {
    return await cmd.run(rest, out);
  } catch (e) {
    if (e instanceof CliError) {
      process.stderr.write(`pear-fog: ${e.message}\n`);
      return e.exitCode;
    }
    process.stderr.write(`pear-fog: ${name}: ${oneLine(e)}\n`);
    return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`pear-fog: ${oneLine(e)}\n`);
    process.exitCode = 1;
  },
);
