/** What every report chart shares: the Vega-Lite schema, sizes and a legend that fits long group labels. */
export const SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json";

export const CHART_WIDTH = 380;
export const CHART_HEIGHT = 240;

/** A colour legend under the plot, one label per line, wide enough for `model=moe, schedule=descending`. */
export const GROUP_LEGEND = { orient: "bottom", columns: 1, labelLimit: 520, title: null } as const;
