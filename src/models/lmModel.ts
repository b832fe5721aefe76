/**
 * The language model of spec §4, top to bottom:
 *
 *   token embedding + learned position embedding → L × ([pre-LayerNorm → causal attention → residual]
 *   → pre-LayerNorm → MoE or FFN → residual) → LayerNorm → LM head tied to the token embedding
 *
 * Without attention (the paper's set-up) every position is predicted from its own token and position
 * alone; `attention: true` (ours) adds causal self-attention before each MoE block. The LM head is
 * not applied here: `applyLmTrunk` returns the final hidden states, and the 50,257-way output layer is
 * computed in chunks by `lmHead.ts` (its logits for a whole batch would not fit in wasm memory).
 */
import { numpy as np, random } from "../engine/jax.js";
import type { Routing } from "../moe/routing.js";
import { applyAttention, initAttention, type AttentionParams } from "./attention.js";
import { applyBlockFfn, initBlockFfn, type BlockFfnParams } from "./blockFfn.js";
import { applyLayerNorm, initLayerNorm, type LayerNormParams } from "./layerNorm.js";
import { splitKey } from "../engine/splitKey.js";
import { layerKeys } from "../moe/drawSchedule.js";
import { layerRouter, sharedHidden, type StackConfig } from "./stackConfig.js";
import { routerWidth } from "../moe/routers/registry.js";

/** The stack's fields (`d`, `h`, `layers`, `experts`, routers, dispatch) as in the image model, plus: */
export type LmModelConfig = StackConfig & {
  /** Vocabulary size V (50,257 for GPT-2 BPE). */
  vocab: number;
  /** Positions per sequence (the position table's length). */
  context: number;
  /** Causal self-attention before each MoE block (ours; the paper has none). */
  attention: boolean;
  /** Attention heads; must divide d. */
  heads: number;
};

export type LmBlockParams = {
  attnNorm?: LayerNormParams;
  attn?: AttentionParams;
  norm: LayerNormParams;
} & BlockFfnParams;

export type LmModelParams = {
  /** `tokens: [V, d]` (also the LM head, tied), `positions: [context, d]`. */
  embed: { tokens: np.Array; positions: np.Array };
  blocks: LmBlockParams[];
  norm: LayerNormParams;
};

export type LmTrunkOutput = {
  /** `[B·S, d]` final hidden states (after the last LayerNorm), row b·S + s. */
  hidden: np.Array;
  routings: Routing[];
};

/** Initialise all parameters (embeddings and attention as GPT-2, MoE and FFN linears as PyTorch, as in the image model); `key` is consumed. */
export function initLmModel(key: np.Array, cfg: LmModelConfig): LmModelParams {
  if (cfg.attention && cfg.d % cfg.heads !== 0) throw new Error(`heads (${cfg.heads}) must divide d (${cfg.d})`);
  const keys = splitKey(key, 2 + 2 * cfg.layers);
  const blocks: LmBlockParams[] = [];
  for (let l = 0; l < cfg.layers; l++) {
    const [ka, kf] = [keys[2 + 2 * l], keys[3 + 2 * l]];
    const block: LmBlockParams = { norm: initLayerNorm(cfg.d) };
    if (cfg.attention) {
      block.attnNorm = initLayerNorm(cfg.d);
      block.attn = initAttention(ka, cfg.d, cfg.layers);
    } else {
      ka.dispose();
    }
    blocks.push({ ...block, ...initBlockFfn(kf, cfg, l) });
  }
  return {
    embed: {
      tokens: random.normal(keys[0], [cfg.vocab, cfg.d]).mul(0.02),
      positions: random.normal(keys[1], [cfg.context, cfg.d]).mul(0.02),
    },
    blocks,
    norm: initLayerNorm(cfg.d),
  };
}

/**
 * Everything but the LM head.
 * @param params not consumed.
 * @param tokens `[B, S]` int32 token ids, S ≤ context; consumed.
 * @param opts.key PRNG key for router noise in training; consumed.
 */
export function applyLmTrunk(
  params: LmModelParams,
  tokens: np.Array,
  cfg: LmModelConfig,
  opts: { train: boolean; key?: np.Array },
): LmTrunkOutput {
  const [b, s] = tokens.shape;
  const t = b * s;
  const routings: Routing[] = [];
  const needKeys = opts.train && cfg.kind === "moe" && opts.key !== undefined;
  const keys = needKeys ? layerKeys(opts.key!, cfg.layers) : []; // the draw schedule's one key per block
  if (!needKeys) opts.key?.dispose();
  const positions = s === cfg.context ? params.embed.positions.ref : params.embed.positions.ref.slice([0, s]);
  // The gather is followed at once by an elementwise op, in its own [T, d] shape: under `jit`,
  // jax-js cannot transpose a gather whose output is reshaped first (see docs/jax-js-notes.md).
  const tiledPositions = np.broadcastTo(positions.reshape([1, s, cfg.d]), [b, s, cfg.d]).reshape([t, cfg.d]); // [T, d]
  let x = np
    .take(params.embed.tokens.ref, tokens.reshape([t]), 0)
    .add(tiledPositions)
    .reshape([b, s, cfg.d]); // [B, S, d]
  for (let l = 0; l < cfg.layers; l++) {
    const block = params.blocks[l];
    if (block.attn) x = x.add(applyAttention(block.attn, applyLayerNorm(block.attnNorm!, x.ref), cfg.heads));
    const normed = applyLayerNorm(block.norm, x.ref).reshape([t, cfg.d]); // [T, d]
    const { y, routing } = applyBlockFfn(block, normed, cfg, l, { train: opts.train, key: keys[l] });
    if (routing) routings.push(routing);
    x = x.add(y.reshape([b, s, cfg.d]));
  }
  return { hidden: applyLayerNorm(params.norm, x).reshape([t, cfg.d]), routings };
}

/** `[T, d] → [T, V]` logits of the tied head, for a few positions (generation). Consumes `hidden`. */
export function lmLogits(params: LmModelParams, hidden: np.Array): np.Array {
  return np.matmul(hidden, params.embed.tokens.ref.transpose());
}

/** Parameter counts: all, and without the token and position embeddings (the tied head adds none). */
export function lmParamCounts(cfg: LmModelConfig): { total: number; nonEmbedding: number } {
  const { d, h, layers } = cfg;
  const linear = (i: number, o: number) => i * o + o;
  const norm = 2 * d;
  let blocks = 0;
  for (let l = 0; l < layers; l++) {
    blocks += norm;
    if (cfg.attention) blocks += norm + linear(d, 3 * d) + linear(d, d);
    const hs = sharedHidden(cfg);
    blocks += cfg.kind === "moe" ? routerWidth(cfg.experts[l], layerRouter(cfg, l)) * d + cfg.experts[l] * (linear(d, h) + linear(h, d)) : linear(d, h) + linear(h, d);
    if (hs > 0) blocks += linear(d, hs) + linear(hs, d);
  }
  const nonEmbedding = blocks + norm;
  return { total: nonEmbedding + cfg.vocab * d + cfg.context * d, nonEmbedding };
}
