/**
 * Affine layer `y = x W + b`, initialised as PyTorch's `nn.Linear` (uniform ±1/√fan_in), so
 * results and step times are comparable with the PyTorch peer.
 */
import { numpy as np, random } from "../engine/jax.js";
import { splitKey } from "../engine/splitKey.js";

export type LinearParams = {
  /** `[in, out]` */
  w: np.Array;
  /** `[out]` */
  b: np.Array;
};

/** Uniform(−1/√in, 1/√in) weights and bias. `key` is consumed. */
export function initLinear(key: np.Array, inDim: number, outDim: number): LinearParams {
  const [kw, kb] = splitKey(key, 2);
  const bound = 1 / Math.sqrt(inDim);
  return {
    w: random.uniform(kw, [inDim, outDim], { minval: -bound, maxval: bound }),
    b: random.uniform(kb, [outDim], { minval: -bound, maxval: bound }),
  };
}

/** Normal(0, std²) weights and zero bias, as GPT-2 initialises its linears. `key` is consumed. */
export function initLinearNormal(key: np.Array, inDim: number, outDim: number, std: number): LinearParams {
  return { w: random.normal(key, [inDim, outDim]).mul(std), b: np.zeros([outDim]) };
}

/** `[..., in] → [..., out]`. Consumes `x`, not the parameters. */
export function applyLinear(p: LinearParams, x: np.Array): np.Array {
  return np.matmul(x, p.w.ref).add(p.b.ref);
}
