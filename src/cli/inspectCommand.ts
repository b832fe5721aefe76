/**
 * `dynamoe inspect RUN`: a compact terminal summary of each MoE layer's routing at the last
 * evaluation, and plots in `RUN/plots/` (SVG, and PNG where the rasteriser loads): per layer the
 * k-histogram, the expert-load heat map over training, expert co-activation and usage per class.
 */
import { existsSync } from "node:fs";
import { makeFolder } from "../io/makeFolder.js";
import { writeFileAtomic } from "../io/runFiles.js";
import { join } from "node:path";
import type { LayerRoutingStats } from "../analysis/routingStats.js";
import { UserError } from "../errors.js";
import { readJsonLines } from "../io/runFiles.js";
import { readRunFolder } from "../report/readRun.js";

type EvalLine = {
  type: "eval";
  step: number;
  epoch: number;
  /** validation or test (lines written before the validation split have none: test). */
  split?: "validation" | "test";
  accuracy: number;
  loss: number;
  routing?: LayerRoutingStats[];
  /** Language models. */
  perplexity?: number;
  byFrequency?: { bucket: string }[];
};

const BARS = "▁▂▃▄▅▆▇█";

/** One character per bin, scaled to the largest; `·` for an empty bin. */
export function sparkline(values: number[]): string {
  const max = Math.max(...values, 0);
  return values.map((v) => (v <= 0 || max <= 0 ? "·" : BARS[Math.min(BARS.length - 1, Math.floor((v / max) * (BARS.length - 1) + 0.5))])).join("");
}

/** `12.3K`, `4.56M`: FLOPs and parameter counts at a glance. */
function compact(x: number): string {
  if (x >= 1e9) return (x / 1e9).toFixed(2) + "G";
  if (x >= 1e6) return (x / 1e6).toFixed(2) + "M";
  if (x >= 1e3) return (x / 1e3).toFixed(1) + "K";
  return x.toFixed(0);
}

const pct = (x: number) => (100 * x).toFixed(1) + "%";

/** The run's class names (its `data.json`), to name the rows of the class-usage plots; undefined without one. */
function classNames(dir: string): string[] | undefined {
  return readRunFolder(dir, dir)?.classNames ?? undefined;
}

/** The eval lines of a run folder that carry routing analytics, in order. */
export function readRoutingHistory(dir: string): EvalLine[] {
  const path = join(dir, "metrics.jsonl");
  if (!existsSync(path)) throw new UserError(`${dir}: not a dynamoe run folder (no metrics.jsonl)`);
  return readJsonLines<{ type: string }>(path)
    .records.filter((l): l is EvalLine => l.type === "eval" && Array.isArray((l as EvalLine).routing) && (l as EvalLine).routing!.length > 0);
}

/** The terminal summary of one evaluation's routing, one row per layer. */
export function formatRoutingSummary(dir: string, last: EvalLine): string {
  const routing = last.routing!;
  const score =
    last.perplexity !== undefined ? `validation perplexity ${last.perplexity.toFixed(2)}, next-token accuracy ${pct(last.accuracy)}` : `${last.split ?? "test"} accuracy ${pct(last.accuracy)}`;
  const head = `run ${dir}: step ${last.step}, epoch ${Number.isInteger(last.epoch) ? last.epoch : last.epoch.toFixed(2)}, ${score} (${routing[0].tokens} tokens)`;
  const cols = ["layer", "N", "k-hist 0..N", "mean k", "max/mean", "cv", "entropy", "drop", "no-expert", "FLOPs/tok", "params/tok"];
  const rows = routing.map((s, l) => [
    String(l),
    String(s.experts),
    sparkline(s.kHist),
    s.meanActive.toFixed(2),
    s.imbalanceMaxMean.toFixed(2),
    s.imbalanceCv.toFixed(2),
    `${s.entropy.toFixed(2)}/${Math.log(s.experts).toFixed(2)}`,
    pct(s.dropRate),
    pct(s.tokens > 0 ? s.noExpertTokens / s.tokens : 0),
    compact(s.flopsPerToken),
    compact(s.activeParams),
  ]);
  const widths = cols.map((c, i) => Math.max(c.length, ...rows.map((r) => r[i].length)));
  const fmt = (r: string[]) => r.map((v, i) => v.padEnd(widths[i])).join("  ").trimEnd();
  const notes = "entropy: mean router entropy / its maximum log N (nats); drop: dropped assignments per token; FLOPs/tok = 2·d·W + k̄·2·(d·h + h·d), W the router's outputs (N, plus null experts for adamoe)";
  return [head, fmt(cols), ...rows.map(fmt), notes].join("\n") + "\n";
}

/** Write every plot of a run; returns the paths written. */
export async function writeRoutingPlots(dir: string, history: EvalLine[]): Promise<{ files: string[]; png: boolean }> {
  const { renderSvg, svgToPng } = await import("../report/renderChart.js");
  const plots = await import("../report/routingPlots.js");
  const out = join(dir, "plots");
  makeFolder(out, "the plots folder");
  const last = history.at(-1)!.routing!;
  const buckets = history.at(-1)!.byFrequency?.map((b) => b.bucket);
  const files: string[] = [];
  let png = true;
  for (let l = 0; l < last.length; l++) {
    const layerHistory = history.map((e) => ({ epoch: e.epoch, stats: e.routing![l] }));
    const charts = {
      "k-histogram": plots.kHistogramSpec(last[l], l),
      "expert-load": plots.loadHeatmapSpec(layerHistory, l),
      coactivation: plots.coactivationSpec(last[l], l),
      ...(buckets
        ? { "frequency-usage": plots.classUsageSpec(last[l], l, buckets, "input-token frequency") }
        : { "class-usage": plots.classUsageSpec(last[l], l, classNames(dir)) }),
    };
    for (const [name, spec] of Object.entries(charts)) {
      const base = join(out, `layer${l}-${name}`);
      const svg = await renderSvg(spec);
      writeFileAtomic(base + ".svg", svg);
      files.push(base + ".svg");
      const bytes = png ? await svgToPng(svg) : null;
      if (bytes) {
        writeFileAtomic(base + ".png", Buffer.from(bytes));
        files.push(base + ".png");
      } else {
        png = false;
      }
    }
  }
  return { files, png };
}

export async function inspectCommand(dir: string, flags: { plots?: boolean; json?: boolean } = {}): Promise<void> {
  if (!existsSync(dir)) throw new UserError(`${dir}: no such run folder`);
  const history = readRoutingHistory(dir);
  if (history.length === 0) {
    throw new UserError(`${dir}: no routing analytics in metrics.jsonl (a dense model, or a run with no evaluation yet)`);
  }
  if (flags.json) {
    // The latest evaluation's per-layer routing analytics, as metrics.jsonl holds them; no plots.
    const last = history.at(-1)!;
    process.stdout.write(JSON.stringify({ run: dir, step: last.step, epoch: last.epoch, split: last.split ?? "test", accuracy: last.accuracy, loss: last.loss, routing: last.routing }, null, 2) + "\n");
    return;
  }
  process.stdout.write(formatRoutingSummary(dir, history.at(-1)!));
  if (flags.plots === false) return;
  const { files, png } = await writeRoutingPlots(dir, history);
  process.stdout.write(`plots: ${files.length} files in ${join(dir, "plots")}${png ? "" : " (SVG only: the PNG rasteriser @resvg/resvg-js did not load)"}\n`);
}
