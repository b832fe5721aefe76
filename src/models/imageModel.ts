/**
 * The image classifier of spec §4, in one file top to bottom:
 *
 *   flatten → Linear(input, d) → L × (pre-LayerNorm → MoE or FFN → residual) → LayerNorm → Linear(d, classes)
 *
 * `kind: "moe"` puts an MoE layer with `experts[l]` experts in block l (DynaMoE); `kind: "dense"`
 * puts one FFN of the same hidden size h in every block (the dense baseline).
 */
import { numpy as np } from "../engine/jax.js";
import type { Routing } from "../moe/routing.js";
import { applyBlockFfn, initBlockFfn, type BlockFfnParams } from "./blockFfn.js";
import { applyLayerNorm, initLayerNorm, type LayerNormParams } from "./layerNorm.js";
import { splitKey } from "../engine/splitKey.js";
import { layerKeys } from "../moe/drawSchedule.js";
import { applyLinear, initLinear, type LinearParams } from "./linear.js";
import type { StackConfig } from "./stackConfig.js";

export type ImageModelConfig = StackConfig & {
  /** Flattened input size (784 for MNIST, 3072 for CIFAR-10). */
  inputDim: number;
  numClasses: number;
};

export type ImageBlockParams = { norm: LayerNormParams } & BlockFfnParams;

export type ImageModelParams = {
  embed: LinearParams;
  blocks: ImageBlockParams[];
  norm: LayerNormParams;
  head: LinearParams;
};

export type ApplyOptions = {
  train: boolean;
  /** PRNG key for router noise in training; consumed. */
  key?: np.Array;
};

export type ImageModelOutput = {
  /** `[B, classes]` */
  logits: np.Array;
  /** One routing record per MoE block (empty for the dense model). */
  routings: Routing[];
};

/** Initialise all parameters; `key` is consumed. */
export function initImageModel(key: np.Array, cfg: ImageModelConfig): ImageModelParams {
  const keys = splitKey(key, cfg.layers + 2);
  const blocks: ImageBlockParams[] = [];
  for (let l = 0; l < cfg.layers; l++) {
    const k = keys[l + 2];
    blocks.push({ norm: initLayerNorm(cfg.d), ...initBlockFfn(k, cfg, l) });
  }
  return {
    embed: initLinear(keys[0], cfg.inputDim, cfg.d),
    blocks,
    norm: initLayerNorm(cfg.d),
    head: initLinear(keys[1], cfg.d, cfg.numClasses),
  };
}

/**
 * Forward pass.
 * @param params not consumed.
 * @param x `[B, inputDim]` normalised images, consumed.
 */
export function applyImageModel(
  params: ImageModelParams,
  x: np.Array,
  cfg: ImageModelConfig,
  opts: ApplyOptions,
): ImageModelOutput {
  const routings: Routing[] = [];
  const needKeys = opts.train && cfg.kind === "moe" && opts.key !== undefined;
  const keys = needKeys ? layerKeys(opts.key!, cfg.layers) : []; // the draw schedule's one key per block
  if (!needKeys) opts.key?.dispose();
  let hdn = applyLinear(params.embed, x); // [B, d]
  for (let l = 0; l < cfg.layers; l++) {
    const block = params.blocks[l];
    const normed = applyLayerNorm(block.norm, hdn.ref); // [B, d]
    const { y, routing } = applyBlockFfn(block, normed, cfg, l, { train: opts.train, key: keys[l] });
    if (routing) routings.push(routing);
    hdn = hdn.add(y);
  }
  const logits = applyLinear(params.head, applyLayerNorm(params.norm, hdn)); // [B, classes]
  return { logits, routings };
}

/** Number of scalar parameters in a parameter tree. */
export function countParams(tree: unknown): number {
  if (tree && typeof tree === "object" && "shape" in tree && Array.isArray((tree as np.Array).shape)) {
    return (tree as np.Array).shape.reduce((a, b) => a * b, 1);
  }
  if (Array.isArray(tree)) return tree.reduce((s: number, t) => s + countParams(t), 0);
  if (tree && typeof tree === "object") return Object.values(tree).reduce((s: number, t) => s + countParams(t), 0);
  return 0;
}
