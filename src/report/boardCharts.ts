/**
 * What `dynamoe board` shows for a selection of run folders, as Vega-Lite specs the page renders:
 * every selected run's training loss, learning rate and gradient norm over steps (one colour per
 * run, labelled by the configuration keys that differ), its evaluation accuracy, and for the last
 * selected run its routing at the latest evaluation (k-histogram, class × expert usage per layer) and
 * its expert load over evaluations. The same specs as the report and `dynamoe inspect` (one
 * definition of each chart); computed from the files only.
 */
import type { TopLevelSpec } from "vega-lite";
import type { LayerRoutingStats } from "../analysis/routingStats.js";
import { groupLabel, labelKeys } from "./groupRuns.js";
import { learningCurveSpec, type BandPoint } from "./learningCurveChart.js";
import type { RunFolder } from "./readRun.js";
import { classUsageSpec, kHistogramSpec, loadHeatmapSpec } from "./routingPlots.js";

/** One chart of the board: its test id (what the page and its tests look for), and its spec. */
export type BoardChart = { testId: string; title: string; spec: TopLevelSpec };

/** A run as the board lists it. */
export type BoardRun = { name: string; label: string; status: "finished" | "training" | "stopped"; step: number; accuracy: number | null; updated: number };

/** Run labels from the configuration keys that differ across `runs`; a run's folder name where that does not tell it apart. */
export function boardLabels(runs: RunFolder[]): Map<RunFolder, string> {
  const keys = labelKeys(runs.map((r) => r.config));
  const labels = runs.map((r) => (keys.length ? groupLabel(r.config, keys) : r.name));
  return new Map(runs.map((r, i) => [r, labels.filter((l) => l === labels[i]).length > 1 ? `${r.name}: ${labels[i]}` : labels[i]]));
}

/** Routing records of a run's evaluation lines (they carry `routing` in metrics.jsonl). */
type RoutedEval = { epoch: number; step: number; routing?: LayerRoutingStats[] };

/** The charts for the selected runs, in the order the page shows them. */
export function boardCharts(selected: RunFolder[], all: RunFolder[]): BoardChart[] {
  if (selected.length === 0) return [];
  const label = boardLabels(all);
  const over = (pick: (l: RunFolder["train"][number]) => number | undefined): BandPoint[] =>
    selected.flatMap((r) =>
      r.train.flatMap((l) => {
        const y = pick(l);
        return y !== undefined && Number.isFinite(y) ? [{ group: label.get(r)!, step: l.step, mean: y, std: null, n: 1 }] : [];
      }),
    );
  const charts: BoardChart[] = [
    { testId: "loss-chart", title: "training loss", spec: learningCurveSpec("training loss", over((l) => l.loss), "training loss") },
    { testId: "accuracy-chart", title: "evaluation accuracy", spec: learningCurveSpec("evaluation accuracy (%)", selected.flatMap((r) => r.evals.map((e) => ({ group: label.get(r)!, step: e.step, mean: 100 * e.accuracy, std: null, n: 1 }))), "accuracy %") },
    { testId: "lr-chart", title: "learning rate", spec: learningCurveSpec("learning rate", over((l) => l.lr), "learning rate") },
    { testId: "grad-norm-chart", title: "gradient norm", spec: learningCurveSpec("gradient norm (before clipping)", over((l) => l.gradNorm), "gradient norm") },
  ];
  const last = selected.at(-1)!;
  const evals = (last.evals as RoutedEval[]).filter((e) => e.routing && e.routing.length > 0);
  const latest = evals.at(-1)?.routing ?? [];
  latest.forEach((s, l) => {
    charts.push({ testId: "k-histogram", title: `${last.name}: layer ${l} experts per token`, spec: kHistogramSpec(s, l) });
    charts.push({ testId: "expert-load", title: `${last.name}: layer ${l} load`, spec: loadHeatmapSpec(evals.map((e) => ({ epoch: e.epoch, stats: e.routing![l] })), l) });
    charts.push({ testId: "class-usage", title: `${last.name}: layer ${l} usage per class`, spec: classUsageSpec(s, l, last.classNames ?? undefined) });
  });
  return charts;
}

/** A run's line in the board's list; `updated` is its metrics file's modification time (ms). */
export function boardRun(run: RunFolder, label: string, updated: number, now = Date.now()): BoardRun {
  const lastEval = run.evals.at(-1);
  const step = Math.max(run.train.at(-1)?.step ?? 0, lastEval?.step ?? 0);
  // A run that wrote nothing for two minutes and has no summary has stopped (killed, or waiting to resume).
  const status = run.summary ? "finished" : now - updated < 120_000 ? "training" : "stopped";
  return { name: run.name, label, status, step, accuracy: lastEval ? 100 * lastEval.accuracy : null, updated };
}
