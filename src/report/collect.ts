/**
 * Collect every run folder under a directory into groups of seeds (`groupRuns.ts`) with, per group,
 * the final metric's mean ± sample std, parameters, active experts and active FLOPs per token,
 * steps, ms/step, the learning curve of each seed and, where present, the gradient variance.
 * Everything is computed from the run folders; nothing is typed in.
 */
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { modelFlopsPerToken } from "../analysis/flops.js";
import { UserError } from "../errors.js";
import { groupBy, groupLabel, labelKeys } from "./groupRuns.js";
import { meanStd, type MeanStd } from "./meanStd.js";
import { findRunFolders, type GradVarianceLine, type RunFolder } from "./readRun.js";

/** One group of runs that differ only in seed. */
export type RunGroup = {
  /** Stable JSON of the effective configuration. */
  key: string;
  /** `model=moe, schedule=descending`: the keys that vary across the collection's groups. */
  label: string;
  /** The effective configuration (`groupRuns.ts`) shared by every run of the group. */
  config: Record<string, unknown>;
  task: "image" | "lm";
  /** The dataset (images) or corpus (language models). */
  data: string;
  model: "dense" | "moe";
  /** The schedule (MoE only). */
  schedule: string | null;
  /** The router kind, or the per-layer kinds joined with commas (MoE only). */
  router: string | null;
  /** Runs with a `summary.json`; every statistic below is over these. */
  runs: RunFolder[];
  /** Runs of this configuration without a `summary.json` yet. */
  unfinished: RunFolder[];
  seeds: number[];
  /** Test accuracy in percent (images), next-token accuracy in percent (language models), per seed in `runs` order. */
  accuracy: MeanStd & { values: number[] };
  /** Images with a validation split: validation accuracy in percent (the last evaluation, or the best with keepBest), per seed; n = 0 when the runs have none. */
  validationAccuracy: MeanStd & { values: number[] };
  /** Validation perplexity (language models only). */
  perplexity: (MeanStd & { values: number[] }) | null;
  params: number | null;
  /** Language models: parameters without the embeddings. */
  paramsNonEmbedding: number | null;
  /** Experts per MoE layer (empty for dense). */
  experts: number[];
  /** Mean active experts per token in each MoE layer, averaged over seeds (test / validation set). */
  activeExperts: number[];
  /** Trunk FLOPs per token (`analysis/flops.ts`): summed routing stats for MoE, `L·2·(d·h + h·d)` for dense. */
  activeFlops: MeanStd;
  steps: MeanStd;
  /** Median ms per training step (summary's median; the median of logged windows where the summary has none). */
  msPerStep: MeanStd;
  /** Training loss per logged window, one series per seed. */
  curves: { seed: number; points: { step: number; loss: number }[] }[];
  /** Evaluation metric per evaluation, one series per seed (accuracy in percent; perplexity for LMs). */
  evalCurves: { seed: number; points: { step: number; accuracy: number; perplexity?: number }[] }[];
  /** Per MoE layer, the fraction of tokens with k = 0..N experts active, mean over seeds. */
  kHistograms: { layer: number; experts: number; fractions: number[] }[];
  /** Gradient variance lines per seed, for the runs that have `grad-variance.jsonl`. */
  gradVariance: { seed: number; lines: GradVarianceLine[] }[];
  /**
   * Language models, by token frequency bucket (the buckets of every seed, in order): active experts
   * per input token summed over the MoE layers, and the mean validation loss of target tokens; mean ± std over seeds.
   */
  byFrequency: BucketRow[];
  /** Language models with MoE layers, by the position's loss quantile (`analysis/activeByLoss.ts`): the same two, mean ± std over seeds. */
  byLoss: BucketRow[];
};

/** One bucket of positions: active experts summed over the MoE layers, and the mean loss; mean ± std over seeds. */
export type BucketRow = { bucket: string; active: MeanStd; loss: MeanStd };

export type QuickInfo = { quick: boolean; reasons: string[] };

export type Collection = {
  root: string;
  /** Every run folder found, finished or not, in path order. */
  runs: RunFolder[];
  groups: RunGroup[];
  /** The configuration keys the group labels are made of. */
  labelKeys: string[];
  /** Whether any run was a quick one (fewer steps or examples than its epochs), and why. */
  quick: QuickInfo;
};

const num = (v: unknown): number | undefined => (typeof v === "number" && Number.isFinite(v) ? v : undefined);

function median(xs: number[]): number | undefined {
  if (xs.length === 0) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Active FLOPs per token of one finished run: the routing stats' per-layer sum, else `flops.ts`. */
export function runFlopsPerToken(run: RunFolder): number | undefined {
  const s = run.summary;
  if (!s) return undefined;
  const routing = s.test?.routing;
  if (s.model === "moe" && routing && routing.length > 0) return routing.reduce((sum, l) => sum + l.flopsPerToken, 0);
  const [d, h, layers] = [num(run.config.d), num(run.config.h), num(run.config.layers)];
  if (d === undefined || h === undefined || layers === undefined) return undefined;
  if (s.model === "dense") return modelFlopsPerToken({ d, h, layers });
  return s.meanActive?.length === s.experts.length ? modelFlopsPerToken({ d, h, layers, experts: s.experts, meanActive: s.meanActive }) : undefined;
}

/** Median step time of a run: the summary's, or the median of the logged windows' means when it recorded none (a resumed run). */
export function runMsPerStep(run: RunFolder): number | undefined {
  const fromSummary = num(run.summary?.medianStepMs);
  if (fromSummary !== undefined && fromSummary > 0) return fromSummary;
  return median(run.train.map((l) => l.stepMs).filter((v) => Number.isFinite(v) && v > 0));
}

/** Why a run folder counts as quick: `maxSteps`, `trainLimit`, `testLimit` set, or stopped early. */
export function quickReasons(run: RunFolder): string[] {
  const reasons: string[] = [];
  for (const k of ["maxSteps", "trainLimit", "testLimit"]) if (run.config[k] !== undefined) reasons.push(`${k}=${String(run.config[k])}`);
  if (run.summary?.stoppedEarly) reasons.push("stopped before its epochs ended");
  return reasons;
}

function quickInfo(root: string, runs: RunFolder[]): QuickInfo {
  const reasons: string[] = [];
  if (existsSync(join(root, "QUICK"))) reasons.push("a QUICK marker file in the folder");
  const counts = new Map<string, number>();
  for (const r of runs) for (const why of quickReasons(r)) counts.set(why, (counts.get(why) ?? 0) + 1);
  for (const [why, n] of counts) reasons.push(`${why} (${n} of ${runs.length} runs)`);
  return { quick: reasons.length > 0, reasons };
}

/** Mean over seeds of each layer's k-histogram fractions (layers with the same N in every seed). */
function meanKHistograms(runs: RunFolder[]): RunGroup["kHistograms"] {
  const per = runs.map((r) => r.summary?.test?.routing ?? []).filter((routing) => routing.length > 0);
  if (per.length === 0) return [];
  return per[0].map((first, layer) => {
    const fractions = first.kHist.map((_, k) => {
      const fs = per.map((routing) => (routing[layer] && routing[layer].tokens > 0 ? (routing[layer].kHist[k] ?? 0) / routing[layer].tokens : 0));
      return fs.reduce((s, v) => s + v, 0) / fs.length;
    });
    return { layer, experts: first.experts, fractions };
  });
}

/** Bucket rows (`byFrequency`, `byLoss`) over the seeds that recorded the same buckets as the first one. */
function meanByBucket(runs: RunFolder[], pick: (test: NonNullable<RunFolder["summary"]>["test"]) => { bucket: string; active: number[]; loss: number }[] | undefined): BucketRow[] {
  const per = runs.map((r) => (r.summary?.test ? pick(r.summary.test) : undefined) ?? []).filter((rows) => rows.length > 0);
  if (per.length === 0) return [];
  const names = per[0].map((row) => row.bucket);
  const same = per.filter((rows) => rows.length === names.length && rows.every((row, i) => row.bucket === names[i]));
  return names.map((bucket, i) => ({
    bucket,
    active: meanStd(same.map((rows) => rows[i].active.reduce((s, v) => s + v, 0))),
    loss: meanStd(same.map((rows) => rows[i].loss)),
  }));
}

function buildGroup(key: string, config: Record<string, unknown>, all: RunFolder[], label: string): RunGroup {
  const runs = all.filter((r) => r.summary !== null);
  const unfinished = all.filter((r) => r.summary === null);
  const seedOf = (r: RunFolder) => num(r.config.seed) ?? 0;
  const task = config.task === "lm" ? "lm" : "image";
  const accValues = runs.map((r) => 100 * r.summary!.test.accuracy);
  const valValues = runs.map((r) => r.summary!.best?.accuracy ?? r.summary!.validation?.accuracy).filter((v): v is number => v !== undefined).map((v) => 100 * v);
  const pplValues = runs.map((r) => r.summary!.test.perplexity).filter((v): v is number => v !== undefined);
  const first = runs[0]?.summary ?? null;
  const layersActive = first ? first.meanActive.map((_, l) => meanStd(runs.map((r) => r.summary!.meanActive[l])).mean ?? 0) : [];
  const layerRouters = Array.isArray(config.layerRouters) ? (config.layerRouters as { kind?: string }[]).map((r) => r.kind ?? "?") : null;
  const routerKind = (config.router as { kind?: string } | undefined)?.kind ?? null;
  return {
    key,
    label,
    config,
    task,
    // A folder of images is shown by its own name (the summary's), not its path.
    data: String(task === "lm" ? config.corpus : (first?.dataset ?? config.dataset)),
    model: config.model === "dense" ? "dense" : "moe",
    schedule: config.model === "dense" ? null : ((config.schedule as string | undefined) ?? null),
    router: config.model === "dense" ? null : layerRouters && new Set(layerRouters).size > 1 ? layerRouters.join(",") : routerKind,
    runs,
    unfinished,
    seeds: runs.map(seedOf),
    accuracy: { ...meanStd(accValues), values: accValues },
    validationAccuracy: { ...meanStd(valValues), values: valValues },
    perplexity: task === "lm" ? { ...meanStd(pplValues), values: pplValues } : null,
    params: first?.params ?? null,
    paramsNonEmbedding: first?.paramsNonEmbedding ?? null,
    experts: first?.experts ?? (Array.isArray(config.experts) ? (config.experts as number[]) : []),
    activeExperts: layersActive,
    activeFlops: meanStd(runs.map(runFlopsPerToken).filter((v): v is number => v !== undefined)),
    steps: meanStd(runs.map((r) => r.summary!.steps)),
    msPerStep: meanStd(runs.map(runMsPerStep).filter((v): v is number => v !== undefined)),
    curves: runs.map((r) => ({ seed: seedOf(r), points: r.train.filter((l) => Number.isFinite(l.loss)).map((l) => ({ step: l.step, loss: l.loss })) })),
    evalCurves: runs.map((r) => ({
      seed: seedOf(r),
      points: r.evals.map((e) => ({ step: e.step, accuracy: 100 * e.accuracy, ...(e.perplexity !== undefined ? { perplexity: e.perplexity } : {}) })),
    })),
    kHistograms: meanKHistograms(runs),
    gradVariance: runs.filter((r) => r.gradVariance && r.gradVariance.length > 0).map((r) => ({ seed: seedOf(r), lines: r.gradVariance! })),
    byFrequency: meanByBucket(runs, (t) => t.byFrequency),
    byLoss: meanByBucket(runs, (t) => t.byLoss),
  };
}

/**
 * Read and group every run under `root`. Throws `UserError` when `root` is missing or holds no run
 * folder (a folder with `config.json`).
 */
export function collectRuns(root: string): Collection {
  if (!existsSync(root) || !statSync(root).isDirectory()) throw new UserError(`${root}: no such directory`);
  const runs = findRunFolders(root);
  if (runs.length === 0) throw new UserError(`${root}: no run folders found (a run folder holds config.json; train one with \`dynamoe train --out ${join(root, "NAME")}\`)`);
  const raw = groupBy(runs, (r) => r.config);
  const keys = labelKeys(raw.map((g) => g.config));
  const groups = raw.map((g) => buildGroup(g.key, g.config, g.runs, groupLabel(g.config, keys)));
  return { root, runs, groups, labelKeys: keys, quick: quickInfo(root, runs) };
}
