/**
 * Descending ranks along an axis, for selection rules that keep "the first so many" of a sorted order.
 */
import { lax, numpy as np } from "../engine/jax.js";

/**
 * Rank of each entry in descending order along `axis`: 0 for the largest; ties go to the lower
 * index first (argsort is stable). `rank = argsort(argsort(−s))`. No gradient flows.
 * @param scores any shape, consumed.
 * @returns int32 ranks, same shape.
 */
export function descendingRank(scores: np.Array, axis: number): np.Array {
  const order = np.argsort(lax.stopGradient(scores).neg(), axis);
  return np.argsort(order, axis);
}
