/**
 * Sparse dispatch of the MoE layer: each expert runs only on the tokens routed to it, gathered into a
 * fixed-capacity buffer, and the outputs are combined back, `y_t = Σ_{e∈S_t} w_te · E_e(x_t)`.
 *
 * Static shapes (jax-js recompiles for every new shape): every expert gets a buffer of C slots.
 * 1. Slots: per expert, a stable argsort of the key `(1 − mask_te) · T + t` over tokens lists the
 *    expert's selected tokens first, in token order; its first C entries are the buffer's tokens
 *    (`[N, C]`). Slots past the expert's load are padding (zeroed input, never read back).
 * 2. `np.take(x, slots)` → `[N·C, d]`, times the 0/1 slot mask, then each expert's FFN on its `[C, d]`
 *    (a loop of N matmul pairs, or one batched matmul: `batched` option).
 * 3. Combine: the slot of pair (t, e) is `e·C + cumsum_t(mask)_te − 1`; unselected pairs and pairs past
 *    the capacity read an extra zero row `N·C`. `np.take` of the `[N·C + 1, d]` outputs into `[T·K, d]`
 *    for each token's first K ≤ N selected experts (K a static bound: k for top-k), times the weights,
 *    summed. Cost note: jax-js runs the backward of a gather as a scatter-add loop in JavaScript
 *    (~50 ns per element), so gathered elements, not FLOPs, dominate at this size.
 *
 * No user-level scatter: the backward of `take` accumulates. Every `take` of a differentiable value is
 * followed directly by an elementwise multiply (slot mask / combine weights): jax-js 0.1.25 computes
 * silently wrong gradients, or throws, under `jit` when a gather result goes straight into a reshape,
 * sum or slice (docs/jax-js-notes.md).
 *
 * Exactness: equal to the dense-masked layer whenever no expert receives more than C tokens. Pairs
 * beyond an expert's C-th token are dropped (they contribute nothing, weights are not renormalised).
 *
 * Reference: DynaMoE spec §2.3; Lepikhin et al. 2020 (GShard capacity buffers).
 */
import { lax, nn, numpy as np } from "../engine/jax.js";
import type { RouterConfig } from "./routers/registry.js";
import { routerCapacity } from "./routers/registry.js";

/** The experts' stacked weights (the expert part of `MoeLayerParams`). */
export type ExpertParams = {
  /** `[N, d, h]` */
  w1: np.Array;
  /** `[N, h]` */
  b1: np.Array;
  /** `[N, h, d]` */
  w2: np.Array;
  /** `[N, d]` */
  b2: np.Array;
};

/**
 * Capacity of the dispatch buffers. `"exact"`: the smallest C that can never drop a pair, i.e. the
 * router's own capacity for `switch`, `gshard` and `expert-choice` (their masks have at most that many
 * ones per column) and T for every other router (one expert may be chosen by every token). A number f:
 * `C = min(T, max(1, ⌈f · T / N⌉))`, f the expected experts per token times a slack (e.g. 1.25·k for
 * top-k); pairs beyond C are dropped, so the layer is then no longer exact under imbalanced routing.
 */
export type DispatchCapacity = "exact" | number;

/** Buffer slots per expert for T tokens and N experts (see `DispatchCapacity`). */
export function dispatchCapacity(tokens: number, experts: number, router: RouterConfig, train: boolean, capacity: DispatchCapacity): number {
  if (capacity !== "exact") return Math.min(tokens, Math.max(1, Math.ceil((capacity * tokens) / experts - 1e-9)));
  return Math.min(tokens, routerCapacity(tokens, experts, router, train) ?? tokens);
}

/** One expert's FFN, `W2 · GELU(W1 x + b1) + b2`, on `[..., C, d]` with weights `[..., d, h]` etc. */
function ffn(x: np.Array, w1: np.Array, b1: np.Array, w2: np.Array, b2: np.Array): np.Array {
  const hidden = nn.gelu(np.matmul(x, w1).add(b1), { approximate: true }); // [..., C, h]
  return np.matmul(hidden, w2).add(b2); // [..., C, d]
}

/**
 * Run the selected experts on their tokens and combine (see the file comment).
 * @param x `[T, d]`, consumed.
 * @param mask `[T, N]` 0/1 selection, consumed (no gradient flows through it).
 * @param weights `[T, N]` combine weights, zero off the mask, consumed (differentiable: router gradient).
 * @param experts not consumed.
 * @param capacity C, slots per expert, 1 ≤ C ≤ T.
 * @param opts.batched one batched matmul `[N, C, d] @ [N, d, h]` instead of a loop of N. @default false
 * @param opts.maxActive static bound on the experts selected per token (`maxActiveExperts`). @default N
 * @returns `[T, d]`.
 */
export function dispatchExperts(
  x: np.Array,
  mask: np.Array,
  weights: np.Array,
  experts: ExpertParams,
  capacity: number,
  opts: { batched?: boolean; maxActive?: number } = {},
): np.Array {
  const [t, d] = x.shape;
  const n = mask.shape[1];
  const h = experts.w1.shape[2];
  const c = capacity;
  if (!(Number.isInteger(c) && c >= 1 && c <= t)) throw new Error(`dispatchExperts: capacity ${c} must be an integer in [1, ${t}]`);
  const sel = lax.stopGradient(mask); // [T, N]

  // 1. Each expert's tokens, in token order, first C of them.
  const tokenIds = np.arange(t).astype(np.float32).reshape([1, t]); // [1, T]
  const sortKey = np.subtract(1, sel.ref.transpose()).mul(t).add(tokenIds); // [N, T], unique per row
  const order = np.argsort(sortKey, -1); // [N, T] int32
  const slotToken = c < t ? order.slice([], [0, c]) : order; // [N, C]
  const load = sel.ref.sum(0).reshape([n, 1]); // [N, 1] tokens per expert
  const slotValid = np.arange(c).astype(np.float32).reshape([1, c]).less(load).astype(np.float32); // [N, C]

  // 2. Gather, then each expert on its buffer. The multiply right after `take` is required (see above).
  const buf = np.take(x, slotToken.reshape([n * c]), 0).mul(slotValid.reshape([n * c, 1])); // [N·C, d]
  let out: np.Array; // [N·C, d]
  if (opts.batched) {
    const { w1, b1, w2, b2 } = experts;
    out = ffn(buf.reshape([n, c, d]), w1.ref, b1.ref.reshape([n, 1, h]), w2.ref, b2.ref.reshape([n, 1, d])).reshape([n * c, d]);
  } else {
    const parts: np.Array[] = [];
    for (let e = 0; e < n; e++) {
      const xe = buf.ref.slice([e * c, (e + 1) * c]); // [C, d]
      parts.push(ffn(xe, experts.w1.ref.slice(e), experts.b1.ref.slice(e), experts.w2.ref.slice(e), experts.b2.ref.slice(e)));
    }
    buf.dispose();
    out = np.concatenate(parts, 0);
  }
  const padded = np.concatenate([out, np.zeros([1, d])], 0); // [N·C + 1, d], last row zero

  // 3. Combine: pair (t, e) reads slot e·C + position, or the zero row.
  const position = np.cumsum(sel.ref, 0).sub(1); // [T, N] 0-based slot of each selected pair
  const kept = sel.ref.mul(position.ref.less(c).astype(np.float32)); // [T, N]
  const expertBase = np.arange(n).astype(np.float32).mul(c).reshape([1, n]); // [1, N]
  const slot = np.where(kept.greater(0), position.add(expertBase), n * c).astype(np.int32); // [T, N]
  return combineSlots(padded, slot, sel, weights, opts.maxActive ?? n);
}

/**
 * Combine expert outputs back to tokens: `y_t = Σ_e w_te · out[slot_te]`, reading only each token's
 * first `maxActive` selected experts (so the gather, and the JS scatter-add of its backward, touch
 * `T·maxActive·d` values instead of `T·N·d`).
 * @param out `[R + 1, d]` expert outputs, last row zero, consumed.
 * @param slot `[T, N]` int32 row of each pair in `out` (R, the zero row, for unselected or dropped pairs), consumed.
 * @param sel `[T, N]` 0/1 selection (no gradient), consumed.
 * @param weights `[T, N]` combine weights, consumed.
 * @param maxActive static bound on the experts selected per token (exact when it holds).
 * @returns `[T, d]`.
 */
export function combineSlots(out: np.Array, slot: np.Array, sel: np.Array, weights: np.Array, maxActive: number): np.Array {
  const [t, n] = sel.shape;
  const d = out.shape[1];
  const k = Math.max(1, Math.min(n, maxActive));
  if (k < n) {
    // Each token's selected experts first (in expert order), then the first k of them.
    const expertIds = np.arange(n).astype(np.float32).reshape([1, n]); // [1, N]
    const pick = np.argsort(np.subtract(1, sel.ref).mul(n).add(expertIds), -1).slice([], [0, k]); // [T, k]
    const selK = np.takeAlongAxis(sel, pick.ref, -1); // [T, k]
    slot = np.takeAlongAxis(slot, pick.ref, -1); // [T, k]
    weights = np.takeAlongAxis(weights, pick, -1).mul(selK); // [T, k]; the multiply must follow the gather
  } else {
    sel.dispose();
  }
  const picked = np.take(out, slot.reshape([t * k]), 0).mul(weights.reshape([t * k, 1])); // [T·k, d]
  return picked.reshape([t, k, d]).sum(1); // [T, d]
}
