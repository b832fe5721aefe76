/** A value over training steps per group: the mean over seeds as a line, ± std as a band. */
import type { TopLevelSpec } from "vega-lite";
import { meanStdChart, type SpreadPoint } from "./chartTheme.js";

export type BandPoint = SpreadPoint & { step: number };

/**
 * @param points every group's `seriesBand` points, tagged with the group.
 * @param yTitle e.g. "training loss (mean ± std over seeds)".
 * @param logY a log y axis (for quantities spanning decades, such as gradient variance).
 */
export function learningCurveSpec(title: string, points: BandPoint[], yTitle: string, logY = false): TopLevelSpec {
  const x = { field: "step", type: "quantitative", title: "training step" };
  return meanStdChart(title, points, x, yTitle, "area", { type: "line", point: points.length < 60 }, [
    { field: "step" }, { field: "mean", format: ".4g" }, { field: "std", format: ".3g" }, { field: "n" },
  ], logY ? { type: "log" } : { zero: false });
}
