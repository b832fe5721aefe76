/**
 * Small run folders for the report tests, written the way `train.ts` writes them: the configuration
 * resolved by `resolveConfig`, routing analytics made by `routingStatsFromCounts`, and values chosen
 * so that the tests can check every statistic by hand.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { LossRow } from "../../src/analysis/activeByLoss.js";
import { routingStatsFromCounts, type LayerRoutingStats } from "../../src/analysis/routingStats.js";
import { resolveConfig, type TrainConfigInput } from "../../src/train/config.js";

export type FixtureRun = {
  /** Folder path under the root. */
  name: string;
  config: TrainConfigInput;
  /** Final test (next-token) accuracy, a fraction. */
  accuracy?: number;
  /** Language models: final validation perplexity. */
  perplexity?: number;
  /** Images with a validation split: the summary's last validation accuracy (0–1). */
  validationAccuracy?: number;
  /** Language models: the summary's rows by token frequency. */
  byFrequency?: { bucket: string; inputTokens: number; active: number[]; targetTokens: number; loss: number; accuracy: number }[];
  /** Language models: the summary's rows by loss quantile. */
  byLoss?: LossRow[];
  params?: number;
  paramsNonEmbedding?: number;
  /** Per MoE layer, tokens with k = 0..N experts active (length N + 1). */
  kHists?: number[][];
  /** Per MoE layer, tokens routed to each expert (length N; default: the assignments spread evenly). */
  loads?: number[][];
  steps?: number;
  medianStepMs?: number;
  /** Training loss per logged window (steps 20, 40, ...). */
  losses?: number[];
  /** False: no summary.json (a run still training or killed). */
  finished?: boolean;
  /** Lines of grad-variance.jsonl. */
  gradVariance?: { step: number; k: number; total: number; groups: Record<string, number>; lossVariance: number }[];
  stoppedEarly?: boolean;
};

/** Routing analytics of one layer whose tokens have the k-histogram `kHist`, with `expertTokens` per expert (default: spread evenly). */
export function layerStats(kHist: number[], d: number, h: number, classes = 10, expertTokens?: number[]): LayerRoutingStats {
  const n = kHist.length - 1;
  const tokens = kHist.reduce((s, v) => s + v, 0);
  const assignments = kHist.reduce((s, v, k) => s + k * v, 0);
  return routingStatsFromCounts(
    {
      tokens,
      kHist,
      expertTokens: expertTokens ?? new Array(n).fill(assignments / n),
      gateMass: new Array(n).fill(tokens / n),
      entropy: tokens * Math.log(n),
      droppedAssignments: 0,
      droppedTokens: 0,
      coactivation: new Array(n * n).fill(0),
      classUsage: new Array(classes * n).fill(0),
      classTokens: new Array(classes).fill(tokens / classes),
    },
    { d, h },
  );
}

/** Write one run folder under `root`; returns its path. */
export function writeFixtureRun(root: string, run: FixtureRun): string {
  const dir = join(root, run.name);
  mkdirSync(dir, { recursive: true });
  const config = resolveConfig(run.config);
  writeFileSync(join(dir, "config.json"), JSON.stringify(config, null, 2) + "\n");
  const losses = run.losses ?? [1, 0.5];
  const steps = run.steps ?? 20 * losses.length;
  const routing = (run.kHists ?? []).map((k, l) => layerStats(k, config.d, config.h, 10, run.loads?.[l]));
  const lines: object[] = losses.map((loss, i) => ({ type: "train", step: 20 * (i + 1), epoch: 0, loss, accuracy: 0.5, lr: 1e-3, gradNorm: 1, stepMs: run.medianStepMs ?? 10, active: routing.map((r) => r.meanActive) }));
  if (run.finished !== false) {
    const acc = run.accuracy ?? 0.9;
    lines.push({ type: "eval", step: steps, epoch: 1, loss: 0.1, accuracy: acc, ...(run.perplexity !== undefined ? { perplexity: run.perplexity } : {}), active: routing.map((r) => r.meanActive), routing });
    const summary = {
      task: config.task,
      dataset: config.task === "lm" ? config.corpus : config.dataset,
      model: config.model,
      router: config.model === "moe" ? config.router.kind : null,
      schedule: config.model === "moe" ? config.schedule : null,
      experts: routing.map((r) => r.experts),
      params: run.params ?? 1000,
      ...(run.paramsNonEmbedding !== undefined ? { paramsNonEmbedding: run.paramsNonEmbedding } : {}),
      steps,
      epochs: 1,
      test: { loss: 0.1, accuracy: acc, ...(run.perplexity !== undefined ? { perplexity: run.perplexity } : {}), ...(run.byFrequency ? { byFrequency: run.byFrequency } : {}), ...(run.byLoss ? { byLoss: run.byLoss } : {}), active: routing.map((r) => r.meanActive), routing, n: 100 },
      ...(run.validationAccuracy !== undefined ? { validation: { loss: 0.2, accuracy: run.validationAccuracy, n: 50 } } : {}),
      meanActive: routing.map((r) => r.meanActive),
      dispatch: routing.map(() => "dense"),
      medianStepMs: run.medianStepMs ?? 10,
      wallSeconds: 1,
      device: "wasm",
      threads: 1,
      stoppedEarly: run.stoppedEarly ?? false,
    };
    writeFileSync(join(dir, "summary.json"), JSON.stringify(summary, null, 2) + "\n");
  }
  writeFileSync(join(dir, "metrics.jsonl"), lines.map((l) => JSON.stringify(l) + "\n").join(""));
  if (run.gradVariance) writeFileSync(join(dir, "grad-variance.jsonl"), run.gradVariance.map((l) => JSON.stringify(l) + "\n").join(""));
  return dir;
}

/** Image runs on MNIST (d = h = 8, 2 layers): uniform and descending over seeds 0–2, dense over seeds 0–1. */
export const SMALL = { d: 8, h: 8, layers: 2, eMax: 4, eMin: 2 } as const;

/**
 * The image collection most tests use. Accuracies (%): uniform 90, 91, 92 (mean 91, std 1);
 * descending 95, 96, 97 (mean 96, std 1); dense 80, 82 (mean 81, std √2); plus one unfinished
 * descending seed 3. Uniform has 4 experts per layer with 2 active; descending 4 then 2 experts with
 * 2 then 1 active.
 */
export function writeImageCollection(root: string): void {
  const uniform = [0.9, 0.91, 0.92];
  const descending = [0.95, 0.96, 0.97];
  uniform.forEach((accuracy, seed) =>
    writeFixtureRun(root, {
      name: `images/uniform-seed${seed}`,
      config: { ...SMALL, model: "moe", schedule: "uniform", seed, checkpointEvery: seed === 0 ? 20 : 100 },
      accuracy,
      params: 5000,
      kHists: [[0, 0, 100, 0, 0], [0, 0, 100, 0, 0]],
      losses: [1 + seed, 0.5 + seed],
      medianStepMs: 10 + seed,
    }),
  );
  descending.forEach((accuracy, seed) =>
    writeFixtureRun(root, {
      name: `images/descending-seed${seed}`,
      config: { ...SMALL, model: "moe", schedule: "descending", seed, dataDir: `/data/copy${seed}` },
      accuracy,
      params: 4000,
      kHists: [[0, 0, 100, 0, 0], [0, 100, 0]],
    }),
  );
  [0.8, 0.82].forEach((accuracy, seed) =>
    writeFixtureRun(root, { name: `images/dense-seed${seed}`, config: { ...SMALL, model: "dense", seed, router: { kind: seed === 0 ? "topk" : "switch" } }, accuracy, params: 3000 }),
  );
  writeFixtureRun(root, { name: "images/descending-seed3", config: { ...SMALL, model: "moe", schedule: "descending", seed: 3 }, finished: false, losses: [1.2] });
}
