/**
 * A group's final metric (mean ± std over seeds) against its cost: active FLOPs per token or
 * parameters. One point per group, a vertical rule for its ± std.
 */
import type { TopLevelSpec } from "vega-lite";
import { meanStdChart, type SpreadPoint } from "./chartTheme.js";

export type MetricPoint = SpreadPoint & { cost: number };

/**
 * @param points one per group (groups without a cost or a metric left out by the caller).
 * @param costTitle x axis, e.g. "active FLOPs per token (FFN/MoE layers)".
 * @param metricTitle y axis, e.g. "test accuracy % (mean ± std)".
 */
export function metricVsCostSpec(title: string, points: MetricPoint[], costTitle: string, metricTitle: string): TopLevelSpec {
  const x = { field: "cost", type: "quantitative", title: costTitle, scale: { zero: false, nice: true }, axis: { format: ".3~s" } };
  return meanStdChart(title, points, x, metricTitle, "rule", { type: "point", filled: true, size: 90 }, [
    { field: "mean", format: ".3f" }, { field: "std", format: ".3f" }, { field: "n" }, { field: "cost", format: ",.0f" },
  ]);
}
