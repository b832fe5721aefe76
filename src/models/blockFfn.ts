/**
 * The feed-forward part of a block, shared by the image and the language model: a dense FFN, or an
 * MoE layer plus, where the configuration asks for them, always-on shared experts (DeepSeekMoE):
 *
 *   y = Σ_{i∈S(x)} w_i E_i(x) + F_s(x)
 *
 * S shared experts of hidden size h, all applied to every token with weight 1, are one FFN of hidden
 * size S·h (`sharedHidden`): the sum of S FFNs on the same input is one wider FFN whose output
 * biases add up, so this is the same function class with S − 1 fewer bias vectors.
 *
 * Reference: Dai et al. 2024, "DeepSeekMoE: Towards Ultimate Expert Specialization", §3.2.
 */
import type { numpy as np } from "../engine/jax.js";
import { splitKey } from "../engine/splitKey.js";
import { applyMoeLayer, initMoeLayer, type MoeLayerParams } from "../moe/moeLayer.js";
import type { RouteOptions, Routing } from "../moe/routing.js";
import { applyFfn, initFfn, type FfnParams } from "./ffn.js";
import { moeConfig, sharedHidden, type StackConfig } from "./stackConfig.js";

export type BlockFfnParams = { moe?: MoeLayerParams; ffn?: FfnParams; shared?: FfnParams };

/** Block l's FFN part; `key` is consumed. Models without shared experts initialise exactly as before they existed. */
export function initBlockFfn(key: np.Array, cfg: StackConfig, l: number): BlockFfnParams {
  if (cfg.kind !== "moe") return { ffn: initFfn(key, cfg.d, cfg.h) };
  const hs = sharedHidden(cfg);
  if (hs === 0) return { moe: initMoeLayer(key, moeConfig(cfg, l)) };
  const [km, ks] = splitKey(key, 2);
  return { moe: initMoeLayer(km, moeConfig(cfg, l)), shared: initFfn(ks, cfg.d, hs) };
}

/**
 * `[T, d] → [T, d]` and, for an MoE block, its routing record. Consumes `normed` and the key in `opts`;
 * not the parameters.
 */
export function applyBlockFfn(block: BlockFfnParams, normed: np.Array, cfg: StackConfig, l: number, opts: RouteOptions): { y: np.Array; routing?: Routing } {
  if (!block.moe) {
    opts.key?.dispose();
    return { y: applyFfn(block.ffn!, normed) };
  }
  const shared = block.shared ? applyFfn(block.shared, normed.ref) : null;
  const { y, routing } = applyMoeLayer(block.moe, normed, moeConfig(cfg, l), opts);
  return { y: shared ? y.add(shared) : y, routing };
}
