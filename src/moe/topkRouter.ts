/**
 * Top-K routing: each token takes the K experts with the largest (noisy) gates.
 *
 * Reference: Shazeer et al. 2017, "Outrageously Large Neural Networks".
 */
import { lax, nn, numpy as np } from "../engine/jax.js";

/**
 * Selection mask of the top-k rule.
 * @param scores `[T, N]`, consumed. `k` is clamped to `[1, N]`.
 * @returns `[T, N]` float32 mask with exactly k ones per row.
 */
export function topkSelect(scores: np.Array, k: number): np.Array {
  const n = scores.shape[scores.ndim - 1];
  const kk = Math.max(1, Math.min(k, n));
  // Indices only: gradients through topK values fail under jit (docs/jax-js-notes.md).
  const [values, indices] = lax.topK(lax.stopGradient(scores), kk, -1); // [T, k]
  values.dispose();
  return nn.oneHot(indices, n).astype(np.float32).sum(-2); // [T, N]
}
