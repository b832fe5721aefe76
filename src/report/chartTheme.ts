import type { TopLevelSpec } from "vega-lite";
/** What every report chart shares: the Vega-Lite schema, sizes and a legend that fits long group labels. */
export const SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json";

export const CHART_WIDTH = 380;
export const CHART_HEIGHT = 240;

/** A colour legend under the plot, one label per line, wide enough for `model=moe, schedule=descending`. */
export const GROUP_LEGEND = { orient: "bottom", columns: 1, labelLimit: 520, title: null } as const;

/** A group's value as mean ± std over seeds at some x (`n` seeds). */
export type SpreadPoint = { group: string; mean: number; std: number | null; n: number };

/**
 * The shape every mean ± std chart shares: one colour per group, the spread (± one sample std) drawn
 * as a `rule` at each x or an `area` along it, and the means on top as `mark`.
 * @param x the x encoding (its field is on the points).
 * @param tooltip the fields shown on hover, after the group.
 */
export function meanStdChart(
  title: string,
  points: SpreadPoint[],
  x: Record<string, unknown>,
  yTitle: string,
  spread: "rule" | "area",
  mark: Record<string, unknown>,
  tooltip: { field: string; format?: string }[],
  yScale: Record<string, unknown> = { zero: false },
): TopLevelSpec {
  const values = points.map((p) => ({ ...p, lo: p.mean - (p.std ?? 0), hi: p.mean + (p.std ?? 0) }));
  const color = { field: "group", type: "nominal", legend: GROUP_LEGEND } as const;
  const spreadLayer =
    spread === "rule"
      ? { mark: { type: "rule", strokeWidth: 2 }, encoding: { x, y: { field: "lo", type: "quantitative", title: yTitle, scale: yScale }, y2: { field: "hi" }, color } }
      : { mark: { type: "area", opacity: 0.2 }, encoding: { x, y: { field: "lo", type: "quantitative", title: yTitle, scale: yScale }, y2: { field: "hi" }, color: { ...color, legend: null } } };
  return {
    $schema: SCHEMA,
    title,
    data: { values },
    width: CHART_WIDTH,
    height: CHART_HEIGHT,
    // One colour scale; only the means' legend is drawn (a band's faint swatches would be hard to read).
    ...(spread === "area" ? { resolve: { legend: { color: "independent" } } } : {}),
    layer: [spreadLayer, { mark, encoding: { x, y: { field: "mean", type: "quantitative" }, color, tooltip: [{ field: "group" }, ...tooltip] } }],
  } as TopLevelSpec;
}
