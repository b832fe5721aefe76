/** A value over training steps per group: the mean over seeds as a line, ± std as a band. */
import type { TopLevelSpec } from "vega-lite";
import { CHART_HEIGHT, CHART_WIDTH, GROUP_LEGEND, SCHEMA } from "./chartTheme.js";

export type BandPoint = { group: string; step: number; mean: number; std: number | null; n: number };

/**
 * @param points every group's `seriesBand` points, tagged with the group.
 * @param yTitle e.g. "training loss (mean ± std over seeds)".
 * @param logY a log y axis (for quantities spanning decades, such as gradient variance).
 */
export function learningCurveSpec(title: string, points: BandPoint[], yTitle: string, logY = false): TopLevelSpec {
  const values = points.map((p) => ({ ...p, lo: p.mean - (p.std ?? 0), hi: p.mean + (p.std ?? 0) }));
  const x = { field: "step", type: "quantitative", title: "training step" } as const;
  const color = { field: "group", type: "nominal", legend: GROUP_LEGEND } as const;
  const scale = logY ? { type: "log" } : { zero: false };
  return {
    $schema: SCHEMA,
    title,
    data: { values },
    width: CHART_WIDTH,
    height: CHART_HEIGHT,
    // One colour scale; only the lines' legend is drawn (the bands' faint swatches would be hard to read).
    resolve: { legend: { color: "independent" } },
    layer: [
      { mark: { type: "area", opacity: 0.2 }, encoding: { x, y: { field: "lo", type: "quantitative", title: yTitle, scale }, y2: { field: "hi" }, color: { ...color, legend: null } } },
      {
        mark: { type: "line", point: values.length < 60 },
        encoding: { x, y: { field: "mean", type: "quantitative" }, color, tooltip: [{ field: "group" }, { field: "step" }, { field: "mean", format: ".4g" }, { field: "std", format: ".3g" }, { field: "n" }] },
      },
    ],
  } as TopLevelSpec;
}
