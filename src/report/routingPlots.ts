/**
 * Vega-Lite specs of the routing analytics (spec §7), one chart per layer: the histogram of experts
 * active per token, expert load over training, expert co-activation and expert usage per class.
 */
import type { TopLevelSpec } from "vega-lite";
import type { LayerRoutingStats } from "../analysis/routingStats.js";
import { SCHEMA } from "./chartTheme.js";

/** Mark and axes of a k-histogram over `{k, fraction}` rows (here and in the report's panels). */
export const K_HISTOGRAM_BAR = {
  mark: "bar" as const,
  x: { field: "k", type: "ordinal" as const, title: "experts active (k)", axis: { labelAngle: 0 } },
  y: { field: "fraction", type: "quantitative" as const, title: "fraction of tokens", scale: { domain: [0, 1] } },
};

/** Bar chart of the fraction of tokens with k = 0..N experts active. */
export function kHistogramSpec(s: LayerRoutingStats, layer: number): TopLevelSpec {
  const values = s.kHist.map((count, k) => ({ k, fraction: s.tokens > 0 ? count / s.tokens : 0 }));
  return {
    $schema: SCHEMA,
    title: `Layer ${layer}: experts active per token (mean ${s.meanActive.toFixed(2)})`,
    data: { values },
    mark: K_HISTOGRAM_BAR.mark,
    width: Math.max(120, 28 * values.length),
    height: 160,
    encoding: { x: K_HISTOGRAM_BAR.x, y: K_HISTOGRAM_BAR.y },
  };
}

/** Heat map of expert load (fraction of tokens routed to each expert) at each evaluation epoch. */
export function loadHeatmapSpec(history: { epoch: number; stats: LayerRoutingStats }[], layer: number): TopLevelSpec {
  const values = history.flatMap(({ epoch, stats }) => stats.load.map((load, expert) => ({ epoch, expert, load })));
  const experts = history.at(-1)?.stats.experts ?? 1;
  return {
    $schema: SCHEMA,
    title: `Layer ${layer}: expert load over training`,
    data: { values },
    mark: "rect",
    width: Math.max(120, 24 * experts),
    height: Math.max(60, 16 * history.length),
    encoding: {
      x: { field: "expert", type: "ordinal", title: "expert", axis: { labelAngle: 0 } },
      y: { field: "epoch", type: "ordinal", title: "epoch" },
      color: { field: "load", type: "quantitative", title: "fraction of tokens", scale: { scheme: "viridis", domainMin: 0 } },
      tooltip: [{ field: "epoch" }, { field: "expert" }, { field: "load", format: ".3f" }],
    },
  };
}

/** A labelled matrix heat map (row-major values), shared by co-activation and per-class usage. */
function matrixSpec(title: string, values: number[], rows: number, cols: number, rowTitle: string, colorTitle: string, rowNames?: string[]): TopLevelSpec {
  const light = 0.6 * Math.max(...values, 0); // white text on the darker cells
  const rowOf = (r: number) => rowNames?.[r] ?? r;
  const cells = values.map((v, idx) => ({ row: rowOf(Math.floor(idx / cols)), expert: idx % cols, value: v }));
  return {
    $schema: SCHEMA,
    title,
    data: { values: cells },
    width: Math.max(120, 28 * cols),
    height: Math.max(60, 22 * rows),
    encoding: {
      x: { field: "expert", type: "ordinal", title: "expert", axis: { labelAngle: 0 } },
      y: { field: "row", type: "ordinal", title: rowTitle, ...(rowNames ? { sort: rowNames } : {}) },
    },
    layer: [
      { mark: "rect", encoding: { color: { field: "value", type: "quantitative", title: colorTitle, scale: { scheme: "blues", domainMin: 0 } } } },
      {
        mark: { type: "text", fontSize: 9 },
        encoding: {
          text: { field: "value", type: "quantitative", format: ".2f" },
          color: { condition: { test: `datum.value > ${light}`, value: "white" }, value: "black" },
        },
      },
    ],
  };
}

/** Co-activation: fraction of tokens that use both expert i and expert j (diagonal: each expert's load). */
export function coactivationSpec(s: LayerRoutingStats, layer: number): TopLevelSpec {
  const frac = s.coactivation.map((c) => (s.tokens > 0 ? c / s.tokens : 0));
  return matrixSpec(`Layer ${layer}: expert co-activation`, frac, s.experts, s.experts, "expert", "fraction of tokens");
}

/** Per-class usage: fraction of class c's tokens routed to expert i. */
/**
 * Expert usage per class; for language models the "classes" are token-frequency buckets, named by
 * `rowNames` (`what` titles the rows: "class" or "input-token frequency").
 */
export function classUsageSpec(s: LayerRoutingStats, layer: number, rowNames?: string[], what = "class"): TopLevelSpec {
  const n = s.experts;
  const classes = s.classTokens.length;
  const frac = s.classUsage.map((v, idx) => {
    const total = s.classTokens[Math.floor(idx / n)];
    return total > 0 ? v / total : 0;
  });
  return matrixSpec(`Layer ${layer}: expert usage per ${what}`, frac, classes, n, what, what === "class" ? "fraction of class tokens" : "share of its tokens", rowNames);
}
