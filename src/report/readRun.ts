/**
 * Read run folders from disk: every folder under a directory that holds a `config.json`, with its
 * summary (absent while a run is unfinished), its metric lines and, where another command wrote it,
 * `grad-variance.jsonl`. Reading only; nothing here writes.
 */
import { resolveSavedConfig } from "../train/config.js";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, sep } from "node:path";
import type { LossRow } from "../analysis/activeByLoss.js";
import type { LayerRoutingStats } from "../analysis/routingStats.js";
import type { FrequencyRow } from "../train/evaluate.js";

/** The parts of `summary.json` (train.ts's `TrainSummary`) the report reads. */
export type RunSummary = {
  task?: "image" | "lm";
  dataset: string;
  model: "dense" | "moe";
  router: string | null;
  schedule: string | null;
  experts: number[];
  params: number;
  paramsNonEmbedding?: number;
  steps: number;
  epochs: number;
  test: { loss: number; accuracy: number; perplexity?: number; active: number[]; routing?: LayerRoutingStats[]; byFrequency?: FrequencyRow[]; byLoss?: LossRow[]; n: number };
  /** Images with a validation split: its last evaluation; with keepBest, the best one. */
  validation?: { loss: number; accuracy: number; n: number };
  best?: { step: number; accuracy: number; loss: number };
  meanActive: number[];
  medianStepMs: number;
  wallSeconds?: number;
  stoppedEarly?: boolean;
};

/** A `type: "train"` line of `metrics.jsonl` (one logging window). */
export type TrainLine = { type: "train"; step: number; epoch: number; loss: number; accuracy: number; stepMs: number; lr?: number; gradNorm?: number };
/** A `type: "eval"` line of `metrics.jsonl`. */
export type EvalLine = { type: "eval"; step: number; epoch: number; loss: number; accuracy: number; perplexity?: number };
/** One line of `grad-variance.jsonl`: the trace of the gradient covariance over K mini-batches at one step. */
export type GradVarianceLine = { step: number; k: number; total: number; groups: Record<string, number>; /** null until two training losses are logged. */ lossVariance?: number | null };

export type RunFolder = {
  /** The folder as found (the search root joined with its relative path). */
  dir: string;
  /** Path relative to the search root (`.` when the root itself is a run). */
  name: string;
  /** `config.json`: the resolved configuration that ran, with keys it predates filled as today's code reads them (`resolveSavedConfig`). */
  config: Record<string, unknown>;
  /** `summary.json`, or null while the run is unfinished (killed, or still training). */
  summary: RunSummary | null;
  train: TrainLine[];
  evals: EvalLine[];
  /** Image runs: the class names of `data.json`, or null (no such file: a language model, or a run from before it). */
  classNames: string[] | null;
  /** `grad-variance.jsonl`, or null when the run has none. */
  gradVariance: GradVarianceLine[] | null;
  /** Files of the folder that failed to parse, with why (the run is still listed). */
  problems: string[];
};

/** Parse a JSON Lines file, skipping blank lines and a torn last line (a run still writing). */
function readJsonl<T>(path: string, problems: string[]): T[] {
  const lines = readFileSync(path, "utf8").split("\n").filter((l) => l.trim() !== "");
  const out: T[] = [];
  lines.forEach((line, i) => {
    try {
      out.push(JSON.parse(line) as T);
    } catch {
      problems.push(`${path}: line ${i + 1} is not JSON${i === lines.length - 1 ? " (being written?)" : ""}`);
    }
  });
  return out;
}

function readJson<T>(path: string, problems: string[]): T | null {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as T;
  } catch (err) {
    problems.push(`${path}: ${(err as Error).message}`);
    return null;
  }
}

/** The class names of a run's `data.json`, or null when it has none. */
function readClassNames(path: string, problems: string[]): string[] | null {
  if (!existsSync(path)) return null;
  const names = readJson<{ classNames?: unknown }>(path, problems)?.classNames;
  return Array.isArray(names) && names.every((n) => typeof n === "string") ? names : null;
}

/**
 * The saved configuration with the keys it predates filled as today's code reads them
 * (`resolveSavedConfig`), so that runs saved before and after a key was added group together; as
 * saved (with a problem noted) where today's schema refuses it.
 */
function asToday(saved: Record<string, unknown>, problems: string[]): Record<string, unknown> {
  try {
    return resolveSavedConfig(saved) as unknown as Record<string, unknown>;
  } catch (err) {
    problems.push(`config.json: ${(err as Error).message}; read as saved`);
    return saved;
  }
}

/** The files `readRunFolder` reads (and whose sizes and times `RunFolderCache` compares). */
const FILES = { config: "config.json", summary: "summary.json", metrics: "metrics.jsonl", gradVariance: "grad-variance.jsonl", data: "data.json" } as const;

/** Read one run folder (it must hold `config.json`); returns null when the config does not parse. */
export function readRunFolder(dir: string, name: string): RunFolder | null {
  const problems: string[] = [];
  const saved = readJson<Record<string, unknown>>(join(dir, FILES.config), problems);
  if (!saved || typeof saved !== "object" || Array.isArray(saved)) return null;
  const config = asToday(saved, problems);
  const summaryPath = join(dir, FILES.summary);
  const summary = existsSync(summaryPath) ? readJson<RunSummary>(summaryPath, problems) : null;
  const metricsPath = join(dir, FILES.metrics);
  const lines = existsSync(metricsPath) ? readJsonl<{ type?: string }>(metricsPath, problems) : [];
  const gvPath = join(dir, FILES.gradVariance);
  const gradVariance = existsSync(gvPath)
    ? readJsonl<GradVarianceLine>(gvPath, problems).filter((l) => Number.isFinite(l.step) && Number.isFinite(l.total))
    : null;
  return {
    dir,
    name,
    config,
    summary,
    train: lines.filter((l): l is TrainLine => l.type === "train"),
    evals: lines.filter((l): l is EvalLine => l.type === "eval"),
    gradVariance,
    classNames: readClassNames(join(dir, FILES.data), problems),
    problems,
  };
}

/**
 * Run folders read before, by folder, with the size and modification time of each file read: a
 * folder whose files are all unchanged is not read again (the board polls every second).
 */
export type RunFolderCache = Map<string, { stamp: string; run: RunFolder | null }>;

function stampOf(dir: string): string {
  return Object.values(FILES).map((f) => {
    try {
      const st = statSync(join(dir, f));
      return `${st.size}:${st.mtimeMs}`;
    } catch {
      return "-";
    }
  }).join("|");
}

/**
 * Every run folder under `root` (the root itself included), depth first, in name order. A folder
 * with `config.json` is a run; its subfolders (`plots/`) are not searched further. With `cache`,
 * folders whose files have not changed since the last call come from it, and folders under `root`
 * that are gone leave it.
 */
export function findRunFolders(root: string, cache?: RunFolderCache): RunFolder[] {
  const found: RunFolder[] = [];
  const seen = new Set<string>();
  const read = (dir: string, name: string): RunFolder | null => {
    if (!cache) return readRunFolder(dir, name);
    seen.add(dir);
    const stamp = stampOf(dir);
    const hit = cache.get(dir);
    if (hit && hit.stamp === stamp && (hit.run === null || hit.run.name === name)) return hit.run;
    const run = readRunFolder(dir, name);
    cache.set(dir, { stamp, run });
    return run;
  };
  const visit = (dir: string) => {
    if (existsSync(join(dir, FILES.config))) {
      const run = read(dir, relative(root, dir) || ".");
      if (run) found.push(run);
      return;
    }
    let entries: string[];
    try {
      entries = readdirSync(dir).sort();
    } catch {
      return; // unreadable folder: skip it
    }
    for (const e of entries) {
      if (e.startsWith(".") || e === "node_modules") continue;
      const path = join(dir, e);
      try {
        if (statSync(path).isDirectory()) visit(path);
      } catch {
        // a broken link or a folder removed while we read
      }
    }
  };
  visit(root);
  const prefix = root.endsWith(sep) ? root : root + sep;
  if (cache) for (const dir of cache.keys()) if (!seen.has(dir) && (dir === root || dir.startsWith(prefix))) cache.delete(dir);
  return found;
}
