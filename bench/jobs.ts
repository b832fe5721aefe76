/**
 * Running many `dynamoe train` processes, `jobs` at a time, one wasm thread each. Finished runs
 * (with summary.json) are skipped and killed ones resumed, so a table command can be re-run after
 * an interruption and picks up where it stopped.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";

export type TrainJob = { dir: string; /** `dynamoe train` flags for a fresh run (without --out). */ flags: string[] };

function runJob(job: TrainJob): Promise<void> {
  if (existsSync(join(job.dir, "summary.json"))) return Promise.resolve();
  const args = existsSync(join(job.dir, "config.json")) ? ["train", "--resume", job.dir] : ["train", ...job.flags, "--out", job.dir];
  return new Promise((resolve) => {
    const t = performance.now();
    const child = spawn(process.execPath, ["--import", "tsx", "src/cli/bin.ts", ...args], {
      stdio: ["ignore", "ignore", "pipe"],
      env: { ...process.env, DYNAMOE_THREADS: "1" },
    });
    let err = "";
    child.stderr.on("data", (d) => (err = (err + String(d)).slice(-2000)));
    child.on("exit", (code) => {
      const s = ((performance.now() - t) / 1000).toFixed(0);
      process.stderr.write(`${code === 0 ? "done" : `FAILED (${code})`} ${job.dir} in ${s} s${code === 0 ? "" : `\n${err}`}\n`);
      resolve();
    });
  });
}

/** Run every job, `parallel` at once. */
export async function runJobs(jobs: TrainJob[], parallel: number): Promise<void> {
  const queue = [...jobs];
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      for (let job = queue.shift(); job; job = queue.shift()) await runJob(job);
    }),
  );
}
