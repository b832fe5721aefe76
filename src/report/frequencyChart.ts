/**
 * A value per token-frequency bucket (most frequent first), one line per group, ± std over seeds as a
 * rule: active experts per token or validation loss by how common the token is in the training text.
 */
import type { TopLevelSpec } from "vega-lite";
import { meanStdChart, type SpreadPoint } from "./chartTheme.js";

export type BucketPoint = SpreadPoint & { bucket: string };

/**
 * @param buckets the bucket names in order (x axis).
 * @param yTitle e.g. "active experts per token (all MoE layers)".
 */
export function frequencySpec(title: string, points: BucketPoint[], buckets: string[], yTitle: string): TopLevelSpec {
  const x = { field: "bucket", type: "ordinal", sort: buckets, title: "token's frequency rank in the training text", axis: { labelAngle: 0 } };
  return meanStdChart(title, points, x, yTitle, "rule", { type: "line", point: true }, [
    { field: "bucket" }, { field: "mean", format: ".4g" }, { field: "std", format: ".3g" }, { field: "n" },
  ]);
}
