// The swarm bench's helper processes (origin, coordinator): a TypeScript module run under tsx
// with its stdin and stdout piped to the bench, stopped with SIGTERM.
import { type ChildProcess, spawn } from "node:child_process";

/** Runs `file` (a module of this bench) under tsx with `args`; stderr goes to the bench's. */
export function spawnModule(file: string, args: string[]): ChildProcess {
  return spawn(process.execPath, ["--import", "tsx", file, ...args], {
    stdio: ["pipe", "pipe", "inherit"],
  });
}

/** SIGTERM, resolved once the process has exited (at once if it has already). */
export function stopChild(child: ChildProcess): Promise<void> {
  return new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
  });
}
