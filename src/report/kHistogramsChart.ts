/**
 * One group's histograms of experts active per token, a panel per MoE layer side by side (each
 * layer has its own N, so its own k axis): the fraction of test tokens with k = 0..N experts.
 */
import type { TopLevelSpec } from "vega-lite";
import { SCHEMA } from "./chartTheme.js";
import { K_HISTOGRAM_BAR } from "./routingPlots.js";

/** @param layers per layer the mean over seeds of the k-histogram fractions (`RunGroup.kHistograms`). */
export function kHistogramsSpec(title: string, layers: { layer: number; experts: number; fractions: number[] }[]): TopLevelSpec {
  return {
    $schema: SCHEMA,
    title,
    hconcat: layers.map(({ layer, experts, fractions }) => {
      const mean = fractions.reduce((s, f, k) => s + k * f, 0);
      return {
        title: { text: `layer ${layer} (N=${experts}, mean k ${mean.toFixed(2)})`, fontSize: 11 },
        data: { values: fractions.map((fraction, k) => ({ k, fraction })) },
        mark: K_HISTOGRAM_BAR.mark,
        width: Math.max(80, 18 * fractions.length),
        height: 120,
        encoding: {
          x: K_HISTOGRAM_BAR.x,
          y: K_HISTOGRAM_BAR.y,
          tooltip: [{ field: "k" }, { field: "fraction", format: ".3f" }],
        },
      };
    }),
  } as TopLevelSpec;
}
