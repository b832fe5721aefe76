/**
 * Position-wise feed-forward network `Linear(d, h) → GELU → Linear(h, d)`: the dense baseline's
 * block and the shape of every expert.
 */
import { nn, numpy as np } from "../engine/jax.js";
import { splitKey } from "../engine/splitKey.js";
import { applyLinear, initLinear, type LinearParams } from "./linear.js";

export type FfnParams = { up: LinearParams; down: LinearParams };

/** Two PyTorch-style linears; `key` is consumed. */
export function initFfn(key: np.Array, d: number, h: number): FfnParams {
  const [k1, k2] = splitKey(key, 2);
  return { up: initLinear(k1, d, h), down: initLinear(k2, h, d) };
}

/** `[T, d] → [T, d]`. Consumes `x`. GELU is the tanh approximation (PyTorch `approximate="tanh"`): measurably cheaper than erf in wasm. */
export function applyFfn(p: FfnParams, x: np.Array): np.Array {
  return applyLinear(p.down, nn.gelu(applyLinear(p.up, x), { approximate: true }));
}
