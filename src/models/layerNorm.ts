/**
 * Layer normalisation over the last axis with a learned scale and bias:
 * `y = (x − mean) / √(var + ε) · scale + bias`.
 */
import { numpy as np } from "../engine/jax.js";

export type LayerNormParams = {
  /** `[d]`, ones at init */
  scale: np.Array;
  /** `[d]`, zeros at init */
  bias: np.Array;
};

export function initLayerNorm(d: number): LayerNormParams {
  return { scale: np.ones([d]), bias: np.zeros([d]) };
}

/** `[..., d] → [..., d]`, ε = 1e-5 as PyTorch. Consumes `x`, not the parameters. */
export function applyLayerNorm(p: LayerNormParams, x: np.Array, eps = 1e-5): np.Array {
  const mean = x.ref.mean(-1, { keepdims: true });
  const centered = x.sub(mean);
  const variance = np.square(centered.ref).mean(-1, { keepdims: true });
  return centered.div(np.sqrt(variance.add(eps))).mul(p.scale.ref).add(p.bias.ref);
}
