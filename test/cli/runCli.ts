/** Running the `dynamoe` CLI from tests, as a child process from the repository root. */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";

export const ROOT = new URL("../../", import.meta.url).pathname;
export const CLI = ["--import", "tsx", join(ROOT, "src/cli/bin.ts")];

/** Run `dynamoe ...args` to completion (2 minutes at most). */
export function run(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [...CLI, ...args], { cwd: ROOT, encoding: "utf8", env: { ...process.env, ...env }, timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Each `dynamoe ...args` fails with exactly one stderr line matching its pattern, and no stack trace. */
export function assertOneLineErrors(cases: [string[], RegExp, Record<string, string>?][]): void {
  for (const [args, pattern, env] of cases) {
    const r = run(args, env);
    assert.notEqual(r.code, 0, `${args.join(" ")} should fail`);
    const err = r.stderr.trim().split("\n").filter((l) => !l.startsWith("(run with --help"));
    assert.equal(err.length, 1, `${args.join(" ")}: expected one line, got:\n${r.stderr}`);
    assert.match(err[0], pattern, args.join(" "));
    assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
  }
}
