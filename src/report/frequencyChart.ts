/**
 * A value per bucket of positions, one line per group, ± std over seeds as a rule: active experts
 * per token or validation loss by how common the token is in the training text (most frequent
 * first), or active experts by the position's loss quantile (lowest loss first).
 */
import type { TopLevelSpec } from "vega-lite";
import { meanStdChart, type SpreadPoint } from "./chartTheme.js";

export type BucketPoint = SpreadPoint & { bucket: string };

/**
 * @param buckets the bucket names in order (x axis).
 * @param yTitle e.g. "active experts per token (all MoE layers)".
 * @param xTitle what the buckets are.
 */
export function frequencySpec(title: string, points: BucketPoint[], buckets: string[], yTitle: string, xTitle = "token's frequency rank in the training text"): TopLevelSpec {
  const x = { field: "bucket", type: "ordinal", sort: buckets, title: xTitle, axis: { labelAngle: 0 } };
  return meanStdChart(title, points, x, yTitle, "rule", { type: "line", point: true }, [
    { field: "bucket" }, { field: "mean", format: ".4g" }, { field: "std", format: ".3g" }, { field: "n" },
  ]);
}
