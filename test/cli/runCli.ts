/** Running the `dynamoe` CLI from tests, as a child process from the repository root. */
import { spawnSync } from "node:child_process";
import { join } from "node:path";

export const ROOT = new URL("../../", import.meta.url).pathname;
export const CLI = ["--import", "tsx", join(ROOT, "src/cli/bin.ts")];

/** Run `dynamoe ...args` to completion (2 minutes at most). */
export function run(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [...CLI, ...args], { cwd: ROOT, encoding: "utf8", env: { ...process.env, ...env }, timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
