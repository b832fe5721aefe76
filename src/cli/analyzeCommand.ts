/**
 * `dynamoe analyze grad-variance RUN`: the gradient variance (spec §7) of a saved run at its
 * checkpoint: K mini-batch gradients at the checkpoint's parameters, the trace of their covariance per
 * parameter group and in total, printed as a table and written to `RUN/grad-variance-final.json`.
 *
 * A run folder keeps one checkpoint, overwritten as training goes, so only the last step can be
 * measured after the fact; the time series comes from training with `gradVariance: { every, k }`
 * (`RUN/grad-variance.jsonl`). The batches and keys depend only on (seed, step), so at a step both
 * measure, with the same K, the two give the same numbers.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { initEngine } from "../engine/engine.js";
import { random, tree } from "../engine/jax.js";
import { UserError } from "../errors.js";
import { gradVarianceRecord, loggedTrainLosses, measureGradVariance, type GradVarianceRecord } from "../analysis/measureGradVariance.js";
import { writeFileAtomic } from "../io/runFiles.js";
import { loadCheckpoint } from "../train/checkpoint.js";
import type { TrainConfig } from "../train/config.js";
import type { TaskRun } from "../train/task.js";
import { openRunFolder } from "./runFolder.js";

export const GRAD_VARIANCE_FINAL_FILE = "grad-variance-final.json";

export type GradVarianceFlags = { k?: number; steps?: string };

/** `all`, or a comma-separated list of steps; a `UserError` otherwise. */
export function parseSteps(v: string | undefined): "all" | number[] {
  if (v === undefined || v === "all") return "all";
  const steps = v.split(",").map((s) => Number(s.trim()));
  if (steps.some((n) => !Number.isInteger(n) || n < 0)) throw new UserError(`--steps must be "all" or a comma-separated list of steps, got "${v}"`);
  return steps;
}

async function taskFor(config: TrainConfig): Promise<TaskRun<unknown>> {
  if (config.task === "lm") return (await (await import("../train/lmTask.js")).lmTask(config)) as unknown as TaskRun<unknown>;
  return (await (await import("../train/imageTask.js")).imageTask(config)) as unknown as TaskRun<unknown>;
}

/** Measure a run at its checkpoint; returns the record written to `grad-variance-final.json`. */
export async function analyzeGradVariance(run: string, flags: GradVarianceFlags = {}): Promise<GradVarianceRecord & { batchSize: number }> {
  if (!existsSync(join(run, "config.json"))) throw new UserError(`${run}: not a dynamoe run folder (no config.json)`);
  const { config, checkpoint } = openRunFolder(run);
  const steps = parseSteps(flags.steps);
  const k = flags.k ?? config.gradVariance?.k ?? 8;
  if (k < 2) throw new UserError(`--k must be at least 2, got ${k}`);
  await initEngine();
  const task = await taskFor(config);
  const state = loadCheckpoint(checkpoint, task.init(random.key(0)));
  tree.dispose([state.opt, state.key]);
  const step = state.progress.step;
  try {
    if (steps !== "all" && steps.some((s) => s !== step)) {
      throw new UserError(
        `${run} keeps only its latest checkpoint (step ${step}); for other steps train with "gradVariance": { "every": N, "k": K } in --config (writes ${join(run, "grad-variance.jsonl")})`,
      );
    }
    const r = await measureGradVariance(task.makeGradFn(), state.params, { seed: config.seed, step, k, trainExamples: task.trainExamples, batchSize: config.batchSize });
    const losses = loggedTrainLosses(join(run, "metrics.jsonl"), step);
    const record = { ...gradVarianceRecord(step, r, losses, config.gradVariance?.lossWindow ?? 20), batchSize: config.batchSize };
    writeFileAtomic(join(run, GRAD_VARIANCE_FINAL_FILE), JSON.stringify(record, null, 2) + "\n");
    return record;
  } finally {
    tree.dispose(state.params);
  }
}

/** The per-group table: trace of the gradient covariance and its share of the total. */
export function formatGradVariance(run: string, r: GradVarianceRecord & { batchSize: number }): string {
  const names = Object.keys(r.groups);
  const width = Math.max(5, ...names.map((n) => n.length));
  const fmt = (x: number) => x.toExponential(4);
  const lines = [
    `run ${run}, step ${r.step} (the only checkpoint a run keeps), K = ${r.k} mini-batches of ${r.batchSize}`,
    `${"group".padEnd(width)}  ${"tr Σ".padStart(11)}   share`,
    ...names.map((n) => `${n.padEnd(width)}  ${fmt(r.groups[n]).padStart(11)}  ${((100 * r.groups[n]) / r.total).toFixed(1).padStart(5)}%`),
    `${"total".padEnd(width)}  ${fmt(r.total).padStart(11)}`,
    `tr Σ: trace of the mini-batch gradient covariance, (1/(K−1))·Σ_k ‖g_k − ḡ‖²`,
    `loss variance (last logged training losses): ${r.lossVariance === null ? "n/a (fewer than 2 logged)" : fmt(r.lossVariance)}`,
  ];
  return lines.join("\n") + "\n";
}

export async function gradVarianceCommand(run: string, flags: GradVarianceFlags): Promise<void> {
  const r = await analyzeGradVariance(run, flags);
  process.stdout.write(formatGradVariance(run, r) + `written to ${join(run, GRAD_VARIANCE_FINAL_FILE)}\n`);
}
