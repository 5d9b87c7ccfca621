// The benches' helper processes (origin, coordinator, libwebrtc nodes): a TypeScript module run
// under tsx with its stdin and stdout piped to the bench, answering one stdout line per question,
// stopped with SIGTERM.
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";

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

/**
 * The child's stdout lines in order: each call of the function returned resolves with the next
 * line (one printed before the call is kept for it); once the child has exited and its stdout
 * has ended, every wait not answered rejects with "`name` exited (code)".
 */
export function childLines(child: ChildProcess, name: string): () => Promise<string> {
  const lines: string[] = [];
  const waiting: { resolve(line: string): void; reject(e: Error): void }[] = [];
  let exited: Error | undefined;
  createInterface({ input: child.stdout! }).on("line", (l) => {
    const w = waiting.shift();
    if (w) w.resolve(l);
    else lines.push(l);
  });
  // "close", not "exit": the child's stdio has ended, so every line it printed is in.
  child.once("close", (c) => {
    exited = new Error(`${name} exited (${c})`);
    for (const w of waiting.splice(0)) w.reject(exited);
  });
  return () =>
    new Promise<string>((resolve, reject) => {
      if (lines.length > 0) return resolve(lines.shift()!);
      if (exited) return reject(exited);
      waiting.push({ resolve, reject });
    });
}
