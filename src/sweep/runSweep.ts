/**
 * A sweep from spec to finished runs: expand and validate the grid, take this shard's runs, check
 * their folders, then run what is not finished (`runJobs`). Every run of a sweep lives in
 * `<out>/<run id>/`, so shards that share `out` (or whose folders are copied together) make one sweep.
 */
import { existsSync, readFileSync } from "node:fs";
import { makeFolder } from "../io/makeFolder.js";
import { writeFileAtomic } from "../io/runFiles.js";
import { join } from "node:path";
import { UserError } from "../errors.js";
import { expandSweep, type SweepRun } from "./expandSweep.js";
import { canonicalJson } from "./runId.js";
import { ERROR_LOG, jobState, runJobs, type JobOutcome, type JobState, type RunJobsOptions, type TrainJob } from "./runJobs.js";
import { shardRuns, type Shard } from "./shard.js";
import type { SweepSpec } from "./spec.js";

/** The configuration a sweep gives `dynamoe train --config`, saved in each run folder. */
export const SWEEP_CONFIG = "sweep-config.json";
/** The sweep's manifest in `out`: name, spec and every run's id, seed and varying keys. */
export const SWEEP_MANIFEST = "sweep.json";

export type PlannedRun = SweepRun & {
  dir: string;
  state: JobState;
  /** An earlier attempt failed (its `sweep-error.log` is there); it runs again. */
  failedBefore: boolean;
};

export type SweepPlan = {
  spec: SweepSpec;
  out: string;
  /** Every run of the sweep, all shards, sorted by id. */
  all: SweepRun[];
  /** This shard's runs, sorted by id, with their folder's state. */
  runs: PlannedRun[];
};

/**
 * Expand `spec`, keep shard `shard` (all runs without one) and look at each run's folder under `out`
 * (@default spec.out). Throws `UserError` when a run's configuration is invalid, or when a run
 * folder was started with a different configuration (the spec changed under it).
 */
export function planSweep(spec: SweepSpec, opts: { out?: string; shard?: Shard } = {}): SweepPlan {
  const out = opts.out ?? spec.out;
  const all = expandSweep(spec);
  const mine = opts.shard ? shardRuns(all, opts.shard) : all;
  const runs = mine.map((r): PlannedRun => {
    const dir = join(out, r.id);
    const state = jobState(dir);
    return { ...r, dir, state, failedBefore: state !== "done" && existsSync(join(dir, ERROR_LOG)) };
  });
  // A folder that never got as far as training (no config.json) holds nothing to protect.
  const changed = runs.filter((r) => {
    const path = join(r.dir, SWEEP_CONFIG);
    if (r.state === "fresh" || !existsSync(path)) return false;
    try {
      return canonicalJson(JSON.parse(readFileSync(path, "utf8"))) !== canonicalJson(r.config);
    } catch {
      return true; // unreadable: we cannot tell what the run was started with
    }
  });
  if (changed.length > 0) {
    throw new UserError(
      `${changed[0].dir} was started with another configuration than the spec now gives it${changed.length > 1 ? ` (and ${changed.length - 1} more run(s))` : ""}: ` +
        `delete the folder to run it again, or set another \`out\``,
    );
  }
  return { spec, out, all, runs };
}

export type SweepResult = { outcomes: (JobOutcome & { run: PlannedRun })[]; interrupted: boolean };

/**
 * Run the plan's unfinished runs, `jobs` at once: write each run's `sweep-config.json` and the
 * sweep's manifest, then `runJobs` (skip finished, resume interrupted, start fresh).
 */
export async function runSweep(plan: SweepPlan, opts: Omit<RunJobsOptions, "parallel"> & { jobs?: number } = {}): Promise<SweepResult> {
  makeFolder(plan.out, "the sweep folder");
  // Every shard writes the same manifest, atomically, so shards sharing `out` agree.
  writeFileAtomic(
    join(plan.out, SWEEP_MANIFEST),
    JSON.stringify({ name: plan.spec.name, spec: plan.spec, runs: plan.all.map((r) => ({ id: r.id, seed: r.seed, vary: r.vary })) }, null, 2) + "\n",
  );
  const jobs: TrainJob[] = [];
  for (const run of plan.runs) {
    const configPath = join(run.dir, SWEEP_CONFIG);
    if (run.state !== "done") {
      makeFolder(run.dir, "the run folder");
      writeFileAtomic(configPath, JSON.stringify(run.config, null, 2) + "\n");
    }
    jobs.push({ dir: run.dir, flags: ["--config", configPath], label: run.id });
  }
  const { outcomes, interrupted } = await runJobs(jobs, { ...opts, parallel: opts.jobs ?? 1 });
  return { outcomes: outcomes.map((o, k) => ({ ...o, run: plan.runs[k] })), interrupted };
}
