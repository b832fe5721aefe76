/**
 * ReLU for router gates, with the gradient `1[z > 0]`: 0 at z = 0, as PyTorch's (jax-js's relu passes 1
 * there), so an expert exactly at zero, which no token uses, gets no gradient. Used by ReMoE's gates
 * and by top-any's straight-through weights.
 */
import { lax, numpy as np } from "../engine/jax.js";

/** `ReLU(z)`, `[T, N]`; consumes `z`. */
export function reluGates(z: np.Array): np.Array {
  return z.ref.mul(lax.stopGradient(z.greater(0).astype(np.float32)));
}
