/** `dynamoe sweep SPEC.yaml`: run a grid of training runs (docs/sweeps.md). */
import { join } from "node:path";
import { UserError } from "../errors.js";
import { ERROR_LOG } from "../sweep/runJobs.js";
import { loadSweepSpec } from "../sweep/spec.js";
import { parseShard } from "../sweep/shard.js";
import { planSweep, runSweep, type SweepPlan, type SweepResult } from "../sweep/runSweep.js";
import { sweepProgress } from "../sweep/sweepProgress.js";

export type SweepFlags = { shard?: string; jobs?: number; threads?: string; out?: string; dryRun?: boolean };

/** Ends the sweep with exit code 130 (`main` maps this name to it). */
class SweepInterrupted extends UserError {
  override name = "InterruptedError";
}

/** Lines of each failure's stderr shown in the final summary (the log holds more). */
const FAILURE_LINES = 5;

function heading(plan: SweepPlan, shardText: string | undefined): string {
  const shard = shardText ? `shard ${shardText}: ${plan.runs.length} of ${plan.all.length} runs` : `${plan.runs.length} runs`;
  return `${plan.spec.name}: ${shard} in ${plan.out}`;
}

function printDryRun(plan: SweepPlan, shardText: string | undefined): void {
  const word = { done: "done", resume: "resume", fresh: "new" } as const;
  const lines = [heading(plan, shardText), "status  run"];
  for (const r of plan.runs) lines.push(`${word[r.state].padEnd(7)} ${r.id}${r.failedBefore ? `  (failed before: ${join(r.dir, ERROR_LOG)})` : ""}`);
  const count = (s: string) => plan.runs.filter((r) => r.state === s).length;
  const failed = plan.runs.filter((r) => r.failedBefore).length;
  lines.push(`${count("done")} finished, ${count("resume")} to resume, ${count("fresh")} to start${failed ? ` (${failed} of them failed before)` : ""}`);
  process.stdout.write(lines.join("\n") + "\n");
}

function printSummary(plan: SweepPlan, shardText: string | undefined, result: SweepResult): void {
  const n = (s: string) => result.outcomes.filter((o) => o.status === s).length;
  const parts = [`${n("done")} done`, `${n("resumed")} resumed`, `${n("skipped")} skipped (finished earlier)`, `${n("failed")} failed`];
  if (result.interrupted) parts.push(`${n("interrupted")} stopped by the interrupt, ${n("unstarted")} not started`);
  const lines = [heading(plan, shardText), `  ${parts.join(", ")}`];
  for (const o of result.outcomes.filter((o) => o.status === "failed")) {
    lines.push(`FAILED ${o.run.id} (exit ${o.code ?? "by signal"}); log: ${o.errorLog}`);
    for (const l of o.stderrTail.filter((l) => l.trim()).slice(-FAILURE_LINES)) lines.push(`    ${l}`);
  }
  if (result.interrupted) lines.push(`interrupted: run the same command again to resume`);
  process.stdout.write(lines.join("\n") + "\n");
}

export async function sweepCommand(specPath: string, flags: SweepFlags): Promise<void> {
  const spec = loadSweepSpec(specPath);
  const shard = flags.shard !== undefined ? parseShard(flags.shard) : undefined;
  const plan = planSweep(spec, { out: flags.out, shard }); // validates every run before anything starts
  if (flags.dryRun) {
    printDryRun(plan, flags.shard);
    return;
  }
  const progress = sweepProgress(
    plan.runs.map((r) => ({ dir: r.dir, flags: [], label: r.id })),
    spec.name,
  );
  const count = (s: string) => plan.runs.filter((r) => r.state === s).length;
  progress.log(`${heading(plan, flags.shard)}: ${count("done")} finished, ${count("resume")} to resume, ${count("fresh")} to start, ${flags.jobs ?? 1} at a time`);
  let result: SweepResult;
  try {
    const { onStart, onEnd, onProgress, onInterrupt } = progress;
    const threads = flags.threads === undefined ? undefined : Number(flags.threads);
    result = await runSweep(plan, { jobs: flags.jobs, threads, onStart, onEnd, onProgress, onInterrupt });
  } finally {
    progress.stop();
  }
  printSummary(plan, flags.shard, result);
  if (result.interrupted) throw new SweepInterrupted(`sweep interrupted; run the same command again to resume`);
  const failed = result.outcomes.filter((o) => o.status === "failed").length;
  if (failed > 0) throw new UserError(`${failed} of ${plan.runs.length} runs failed (see ${failed > 1 ? "each" : "its"} sweep-error.log)`);
}
