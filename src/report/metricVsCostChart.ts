/**
 * A group's final metric (mean ± std over seeds) against its cost: active FLOPs per token or
 * parameters. One point per group, a vertical rule for its ± std.
 */
import type { TopLevelSpec } from "vega-lite";
import { CHART_HEIGHT, CHART_WIDTH, GROUP_LEGEND, SCHEMA } from "./chartTheme.js";

export type MetricPoint = { group: string; cost: number; mean: number; std: number | null; n: number };

/**
 * @param points one per group (groups without a cost or a metric left out by the caller).
 * @param costTitle x axis, e.g. "active FLOPs per token (FFN/MoE layers)".
 * @param metricTitle y axis, e.g. "test accuracy % (mean ± std)".
 */
export function metricVsCostSpec(title: string, points: MetricPoint[], costTitle: string, metricTitle: string): TopLevelSpec {
  const values = points.map((p) => ({ ...p, lo: p.mean - (p.std ?? 0), hi: p.mean + (p.std ?? 0) }));
  const x = { field: "cost", type: "quantitative", title: costTitle, scale: { zero: false, nice: true }, axis: { format: ".3~s" } } as const;
  const color = { field: "group", type: "nominal", legend: GROUP_LEGEND } as const;
  return {
    $schema: SCHEMA,
    title,
    data: { values },
    width: CHART_WIDTH,
    height: CHART_HEIGHT,
    layer: [
      { mark: { type: "rule", strokeWidth: 2 }, encoding: { x, y: { field: "lo", type: "quantitative", title: metricTitle, scale: { zero: false } }, y2: { field: "hi" }, color } },
      {
        mark: { type: "point", filled: true, size: 90 },
        encoding: {
          x,
          y: { field: "mean", type: "quantitative" },
          color,
          tooltip: [{ field: "group" }, { field: "mean", format: ".3f" }, { field: "std", format: ".3f" }, { field: "n" }, { field: "cost", format: ",.0f" }],
        },
      },
    ],
  } as TopLevelSpec;
}
