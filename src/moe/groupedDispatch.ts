/**
 * Grouped (sorted-segment) dispatch: the selected (token, expert) pairs sorted by expert into one
 * buffer whose expert segments are padded to multiples of a block of B rows; each block is one matmul
 * with its expert's weights (`[nb, B, d] @ [nb, d, h]`, the block's weights gathered from the stack).
 *
 * Unlike capacity buffers, this is exact for any load distribution while costing only
 * `P + N·B` rows, P a static bound on the selected pairs (T·k for top-k): e.g. T = 256, k = 1,
 * N = 8, B = 32 gives 16 blocks (512 rows), where exact capacity buffers need N·T = 2048.
 *
 * Static shapes: `nb = ⌈P / B⌉ + N` blocks (`Σ_e ⌈l_e / B⌉ ≤ P / B + N`). Block b belongs to
 * expert `#{e : blockEnd_e ≤ b}`; its rows are that expert's tokens in token order (from a stable
 * argsort as in `dispatch.ts`), padding rows are zeroed and never read back. Combine as in
 * `dispatch.ts`: pair (t, e) reads row `blockStart_e · B + position_te`, unselected pairs a zero row.
 * Every `take` of a differentiable value is followed directly by an elementwise multiply (jax-js
 * 0.1.25 gather-gradient bug under jit, docs/jax-js-notes.md).
 *
 * Reference: DynaMoE spec §2.3; Gale et al. 2022, "MegaBlocks" (block-sparse grouped experts).
 */
import { lax, nn, numpy as np } from "../engine/jax.js";
import { combineSlots, type ExpertParams } from "./dispatch.js";
import { maxActiveExperts, routerCapacity } from "./routers/registry.js";
import type { RouterConfig } from "./routers/registry.js";

/**
 * A static upper bound on the selected (token, expert) pairs of T tokens: `T·K`, K the bound on
 * experts per token (`maxActiveExperts`: k for top-k, 1 for switch, 2 for gshard, N for the
 * unbounded routers), and at most `N·C` for the routers with a capacity C (`routers/registry.ts`).
 */
export function maxSelectedPairs(tokens: number, experts: number, router: RouterConfig, train: boolean): number {
  const perToken = tokens * maxActiveExperts(experts, router);
  const capacity = routerCapacity(tokens, experts, router, train);
  return capacity === null ? perToken : Math.min(perToken, experts * Math.min(tokens, capacity));
}

/**
 * Run the selected experts on their tokens in expert-sorted blocks and combine.
 * @param x `[T, d]`, consumed.
 * @param mask `[T, N]` 0/1 selection with at most `maxPairs` ones, consumed (no gradient).
 * @param weights `[T, N]` combine weights, zero off the mask, consumed (differentiable).
 * @param experts not consumed.
 * @param maxPairs static bound on the ones in `mask` (`maxSelectedPairs`); exact when it holds.
 * @param blockSize rows per block B. @default 32
 * @param maxActive static bound on the experts selected per token (`maxActiveExperts`). @default N
 * @returns `[T, d]`.
 */
export function dispatchGrouped(
  x: np.Array,
  mask: np.Array,
  weights: np.Array,
  experts: ExpertParams,
  maxPairs: number,
  blockSize = 32,
  maxActive = mask.shape[1],
): np.Array {
  const [t, d] = x.shape;
  const n = mask.shape[1];
  const h = experts.w1.shape[2];
  const bs = blockSize;
  const nb = Math.ceil(maxPairs / bs) + n; // blocks
  const rows = nb * bs;
  const sel = lax.stopGradient(mask); // [T, N]

  // Blocks per expert and the expert of each block.
  const load = sel.ref.sum(0); // [N]
  const blocksPer = np.floor(load.ref.add(bs - 1).div(bs)); // [N] ⌈l_e / B⌉
  const blockEnd = np.cumsum(blocksPer.ref, 0); // [N] inclusive
  const blockStart = blockEnd.ref.sub(blocksPer); // [N]
  const blockIds = np.arange(nb).astype(np.float32).reshape([nb, 1]); // [nb, 1]
  const owner = blockIds.ref.greaterEqual(blockEnd.reshape([1, n])).astype(np.float32).sum(1); // [nb] in 0..N
  const blockValid = owner.ref.less(n).astype(np.float32); // [nb]
  const blockExpert = np.minimum(owner, n - 1).astype(np.int32); // [nb]

  // Each row's position in its expert's token list, and its token.
  const ownerStart = np.take(blockStart.ref, blockExpert.ref, 0).reshape([nb, 1]); // [nb, 1]
  const ownerLoad = np.take(load, blockExpert.ref, 0).reshape([nb, 1]); // [nb, 1]
  const rowPos = blockIds.sub(ownerStart).mul(bs).add(np.arange(bs).astype(np.float32).reshape([1, bs])); // [nb, B]
  const rowValid = rowPos.ref.less(ownerLoad).astype(np.float32).mul(blockValid.ref.reshape([nb, 1])); // [nb, B]
  const tokenIds = np.arange(t).astype(np.float32).reshape([1, t]); // [1, T]
  const order = np.argsort(np.subtract(1, sel.ref.transpose()).mul(t).add(tokenIds), -1); // [N, T] selected first, token order
  const flat = blockExpert.ref.astype(np.float32).reshape([nb, 1]).mul(t).add(np.minimum(rowPos, t - 1)).astype(np.int32); // [nb, B]
  const rowToken = np.take(order.reshape([n * t]), flat.reshape([rows]), 0); // [nb·B] int32

  // Gather rows; per-block weights as a one-hot matmul (a gather's backward is a slow JS scatter-add
  // over nb·d·h values, the one-hot matmul's a small wasm matmul).
  const xr = np.take(x, rowToken, 0).mul(rowValid.reshape([rows, 1])).reshape([nb, bs, d]); // [nb, B, d]
  const onehot = nn.oneHot(blockExpert, n).astype(np.float32).mul(blockValid.reshape([nb, 1])); // [nb, N]
  const perBlock = (w: np.Array, shape: number[]) => np.matmul(onehot.ref, w.reshape([n, -1])).reshape([nb, ...shape]);
  const w1 = perBlock(experts.w1.ref, [d, h]); // [nb, d, h]
  const b1 = perBlock(experts.b1.ref, [1, h]); // [nb, 1, h]
  const w2 = perBlock(experts.w2.ref, [h, d]); // [nb, h, d]
  const b2 = perBlock(experts.b2.ref, [1, d]); // [nb, 1, d]
  onehot.dispose();
  const hidden = nn.gelu(np.matmul(xr, w1).add(b1), { approximate: true }); // [nb, B, h]
  const out = np.matmul(hidden, w2).add(b2).reshape([rows, d]); // [nb·B, d]
  const padded = np.concatenate([out, np.zeros([1, d])], 0); // [nb·B + 1, d], last row zero

  // Combine: pair (t, e) reads row blockStart_e·B + position, or the zero row.
  const position = np.cumsum(sel.ref, 0).sub(1); // [T, N]
  const row = position.add(blockStart.mul(bs).reshape([1, n])); // [T, N]
  const slot = np.where(sel.ref.greater(0), row, rows).astype(np.int32); // [T, N]
  return combineSlots(padded, slot, sel, weights, maxActive);
}
