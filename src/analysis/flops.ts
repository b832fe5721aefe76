/**
 * Multiply-add FLOPs per token of a model's feed-forward trunk (its L FFN or MoE layers), the cost
 * that expert routing changes. A multiply-add counts 2; biases, GELU, LayerNorm, the combine, the
 * embeddings, attention and the output layer are left out (the same for every schedule and router
 * at one size, so they do not change a comparison). The MoE formula is the one `routingStats.ts`
 * records per layer as `flopsPerToken`.
 */

/** One dense FFN, Linear(d, h) → GELU → Linear(h, d): `2·(d·h + h·d)`. */
export function ffnFlopsPerToken(d: number, h: number): number {
  return 2 * (d * h + h * d);
}

/**
 * One MoE layer whose router has W outputs (its N experts, plus any null experts) with `meanActive`
 * experts per token on average: `2·d·W` (router, no bias) `+ meanActive · 2·(d·h + h·d)` (the active experts).
 */
export function moeLayerFlopsPerToken(d: number, h: number, routerOutputs: number, meanActive: number): number {
  return 2 * d * routerOutputs + meanActive * ffnFlopsPerToken(d, h);
}

/**
 * The trunk's FLOPs per token, summed over its layers: `L · 2·(d·h + h·d)` for a dense model, and
 * `Σ_l 2·d·N_l + k̄_l · 2·(d·h + h·d)` for an MoE model with `experts[l]` experts and `meanActive[l]`
 * active per token in layer l.
 * @param m.layers L (dense models; MoE models take their length from `experts`).
 */
export function modelFlopsPerToken(m: { d: number; h: number; layers: number; experts?: number[]; meanActive?: number[] }): number {
  if (!m.experts || m.experts.length === 0) return m.layers * ffnFlopsPerToken(m.d, m.h);
  const active = m.meanActive ?? [];
  if (active.length !== m.experts.length) throw new Error(`meanActive has ${active.length} layers, experts has ${m.experts.length}`);
  return m.experts.reduce((sum, n, l) => sum + moeLayerFlopsPerToken(m.d, m.h, n, active[l]), 0);
}
