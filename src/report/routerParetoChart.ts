/**
 * Routers compared: test accuracy against active FLOPs per token, one labelled point per router at its
 * mean over seeds, a vertical bar for ± one std of the accuracy, a horizontal one for ± one std of the
 * FLOPs where they vary over seeds, and the Pareto front (`paretoFront.ts`) as a dashed line through
 * the non-dominated means in increasing FLOPs.
 */
import type { TopLevelSpec } from "vega-lite";
import { CHART_HEIGHT, CHART_WIDTH, SCHEMA } from "./chartTheme.js";

/** One router: its metric and cost, mean ± sample std over `n` seeds (std null for one seed). */
export type RouterPoint = { router: string; cost: number; costStd: number | null; mean: number; std: number | null; n: number; front: boolean };

/** The layers' data: the points with their bars' ends, the FLOPs bars where they have a length, the front in cost order. */
export function routerParetoData(points: RouterPoint[]) {
  const values = points.map((p) => ({ ...p, lo: p.mean - (p.std ?? 0), hi: p.mean + (p.std ?? 0), costLo: p.cost - (p.costStd ?? 0), costHi: p.cost + (p.costStd ?? 0) }));
  const costBars = values.filter((p) => (p.costStd ?? 0) > 0);
  const front = points
    .filter((p) => p.front)
    .sort((a, b) => a.cost - b.cost || b.mean - a.mean)
    .map((p, order) => ({ router: p.router, cost: p.cost, mean: p.mean, order }));
  return { values, costBars, front };
}

/**
 * @param points one per router with a metric and a cost (`front` marks the Pareto front).
 * @param costTitle x axis, e.g. "active FLOPs per token (FFN/MoE layers)".
 * @param metricTitle y axis, e.g. "test accuracy % (mean ± std)".
 */
export function routerParetoSpec(title: string, points: RouterPoint[], costTitle: string, metricTitle: string): TopLevelSpec {
  const { values, costBars, front } = routerParetoData(points);
  const x = { field: "cost", type: "quantitative", title: costTitle, scale: { zero: false, nice: true }, axis: { format: ".3~s" } };
  const y = { field: "mean", type: "quantitative", title: metricTitle, scale: { zero: false } };
  const color = { field: "router", type: "nominal", legend: null };
  return {
    $schema: SCHEMA,
    title,
    width: CHART_WIDTH,
    height: CHART_HEIGHT,
    layer: [
      { data: { values: front }, mark: { type: "line", color: "#57606a", strokeDash: [5, 3], strokeWidth: 1.5 }, encoding: { x, y, order: { field: "order", type: "quantitative" } } },
      { data: { values }, mark: { type: "rule", strokeWidth: 2 }, encoding: { x, y: { ...y, field: "lo" }, y2: { field: "hi" }, color } },
      { data: { values: costBars }, mark: { type: "rule", strokeWidth: 2 }, encoding: { x: { ...x, field: "costLo" }, x2: { field: "costHi" }, y, color } },
      {
        data: { values },
        mark: { type: "point", filled: true, size: 80 },
        encoding: {
          x,
          y,
          color,
          tooltip: [{ field: "router" }, { field: "mean", format: ".3f" }, { field: "std", format: ".3f" }, { field: "n" }, { field: "cost", format: ",.0f" }, { field: "costStd", format: ",.0f" }, { field: "front" }],
        },
      },
      { data: { values }, mark: { type: "text", align: "left", baseline: "bottom", dx: 4, dy: -3, fontSize: 10 }, encoding: { x, y, text: { field: "router" }, color } },
    ],
  } as TopLevelSpec;
}
