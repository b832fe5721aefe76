/**
 * How the number of experts per token is spread in one layer, from its k-histogram (`kHist[k]` tokens
 * with k experts active, `LayerRoutingStats.kHist`).
 */

/**
 * `mean = Σ_k k·n_k / T`, `std = sqrt(Σ_k n_k (k − mean)² / T)` (over tokens, population), and
 * `offMode = 1 − max_k n_k / T`, the share of tokens whose k differs from the layer's most common k
 * (0 for a rule that gives every token the same k). All 0 for an empty histogram.
 * @param kHist `[N + 1]` token counts (or fractions) for k = 0..N.
 */
export function kDistribution(kHist: number[]): { mean: number; std: number; offMode: number } {
  const tokens = kHist.reduce((s, v) => s + v, 0);
  if (!(tokens > 0)) return { mean: 0, std: 0, offMode: 0 };
  const mean = kHist.reduce((s, v, k) => s + k * v, 0) / tokens;
  const variance = kHist.reduce((s, v, k) => s + v * (k - mean) ** 2, 0) / tokens;
  return { mean, std: Math.sqrt(variance), offMode: 1 - Math.max(...kHist) / tokens };
}
