/**
 * Causal multi-head self-attention, as in GPT-2 (our `attention: true` extension of the paper's
 * language model, spec §4):
 *
 *   q, k, v = split(x W_qkv + b_qkv);  a_h = softmax(q_h k_hᵀ / √(d/H) + causal mask) v_h;  y = concat_h(a_h) W_o + b_o
 *
 * Shapes: B sequences of S positions, width d, H heads of size d/H.
 */
import { nn, numpy as np } from "../engine/jax.js";
import { splitKey } from "../engine/splitKey.js";
import { applyLinear, initLinearNormal, type LinearParams } from "./linear.js";

export type AttentionParams = {
  /** `[d, 3d]`: queries, keys and values side by side. */
  qkv: LinearParams;
  /** `[d, d]` */
  out: LinearParams;
};

/**
 * GPT-2's initialisation: weights N(0, 0.02²), zero biases, and the output projection, which writes
 * into the residual stream, scaled down by √(2·layers). With PyTorch's uniform init instead, the
 * attention output at step 0 is about 8× the size of the embeddings it is added to (rms 0.17 against
 * std 0.02 at d = 64, unit-scale input, S = 16): the average of other positions' values drowns the
 * current token, and the model spends its first epoch digging it out (docs/language-models.md). `key` is consumed.
 * @param layers the model's depth L (two residual writes per block).
 */
export function initAttention(key: np.Array, d: number, layers: number): AttentionParams {
  const [k1, k2] = splitKey(key, 2);
  return { qkv: initLinearNormal(k1, d, 3 * d, 0.02), out: initLinearNormal(k2, d, d, 0.02 / Math.sqrt(2 * layers)) };
}

/** `[S, S]` additive mask: 0 on and below the diagonal, −1e9 above (a position never sees the future). */
export function causalMask(s: number): np.Array {
  const m = new Float32Array(s * s);
  for (let i = 0; i < s; i++) for (let j = i + 1; j < s; j++) m[i * s + j] = -1e9;
  return np.array(m).reshape([s, s]);
}

/**
 * `[B, S, d] → [B, S, d]`. Consumes `x`, not the parameters.
 * @param heads H; must divide d.
 */
export function applyAttention(p: AttentionParams, x: np.Array, heads: number): np.Array {
  const [b, s, d] = x.shape;
  const dh = d / heads;
  const qkv = applyLinear(p.qkv, x).reshape([b, s, 3, heads, dh]).transpose([2, 0, 3, 1, 4]); // [3, B, H, S, dh]
  const q = qkv.ref.slice(0); // [B, H, S, dh]
  const k = qkv.ref.slice(1);
  const v = qkv.slice(2);
  const scores = np.matmul(q, k.transpose([0, 1, 3, 2])).mul(1 / Math.sqrt(dh)).add(causalMask(s)); // [B, H, S, S]
  const attended = np.matmul(nn.softmax(scores, -1), v); // [B, H, S, dh]
  return applyLinear(p.out, attended.transpose([0, 2, 1, 3]).reshape([b, s, d]));
}
