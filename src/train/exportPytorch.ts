/**
 * A run out to PyTorch (`dynamoe export --format pytorch RUN`): into one folder, the weights in
 * PyTorch's layout (`model.safetensors`, float32 only, no optimizer or random state), the model's
 * shape (`config.json`) and a readable Python module that defines the same model
 * (`dynamoe_model.py`, from `pytorchModule.ts`). An image run gives the predictions of `dynamoe
 * eval` (`test/train/exportPytorch.test.ts`), a language model its per-token losses and perplexity
 * (`test/train/exportPytorchLm.test.ts`), both tested with Debian's PyTorch.
 *
 * Names and layouts, ours → PyTorch's state dict (`docs/run-folders.md` has the checkpoint's):
 *   embed.w [in, d]                  → embed.weight [d, in]            (and every Linear alike: transposed)
 *   blocks.l.norm.scale / .bias       → blocks.l.norm.weight / .bias
 *   blocks.l.moe.router.w [d, W]      → blocks.l.moe.router.weight [W, d]  (no bias; W = N, or N + null experts)
 *   blocks.l.moe.router.thresholds [N] → blocks.l.moe.thresholds [N]     (top-any's threshold logits θ)
 *   blocks.l.moe.router.bias [N]      → blocks.l.moe.selection_bias [N]    (the balancing bias, where the router has one: selection only)
 *   blocks.l.moe.w1 [N, d, h], b1     → blocks.l.moe.experts.i.up.weight [h, d], .bias   (one module per expert)
 *   blocks.l.moe.w2 [N, h, d], b2     → blocks.l.moe.experts.i.down.weight [d, h], .bias
 *   blocks.l.ffn.up / .down           → blocks.l.ffn.up / .down
 * and in a language model, where `embed`, `head` and the final norm's names change:
 *   embed.tokens [V, d]               → tokens.weight [V, d]             (nn.Embedding: not transposed; also the tied head, which has no tensor of its own)
 *   embed.positions [context, d]      → positions.weight [context, d]
 *   blocks.l.attnNorm                 → blocks.l.attn_norm
 *   blocks.l.attn.qkv [d, 3d] / .out  → blocks.l.attn.qkv.weight [3d, d] / blocks.l.attn.out.weight [d, d], .bias
 *
 * Only the rules that select from a token's own gates (and balancing bias) are exported (`EXPORTED_ROUTERS`): the others
 * depend on the whole batch (capacities, expert choice, the batch percentile), which a PyTorch
 * `forward` on arbitrary batches would not reproduce.
 */
import { join } from "node:path";
import type { ImageBlockParams, ImageModelConfig, ImageModelParams } from "../models/imageModel.js";
import type { LayerNormParams } from "../models/layerNorm.js";
import type { LmBlockParams, LmModelConfig, LmModelParams } from "../models/lmModel.js";
import { layerRouter, sharedHidden, type StackConfig } from "../models/stackConfig.js";
import { hasBalanceBias } from "../moe/balanceBias.js";
import { routerWidth } from "../moe/routers/registry.js";
import { makeFolder } from "../io/makeFolder.js";
import { writeFileAtomic } from "../io/runFiles.js";
import { UserError } from "../errors.js";
import { encodeSafetensors, type SafeTensor } from "../io/safetensors.js";
import { PYTORCH_MODULE } from "./pytorchModule.js";
import type { numpy as np } from "../engine/jax.js";
import type { ChannelStats } from "../data/normalize.js";

/** The routing rules the Python module implements. */
export const EXPORTED_ROUTERS = ["percentile", "topk", "top-p", "threshold", "aux-free", "remoe", "adamoe", "top-any"] as const;

/** Why a model with this stack cannot be exported, or null. */
export function pytorchUnsupported(cfg: StackConfig): string | null {
  if (cfg.kind === "dense") return null;
  if (cfg.capacity !== undefined && cfg.capacity !== "exact") return `dispatch capacity ${cfg.capacity} (drops depend on the batch; export needs "exact")`;
  for (let l = 0; l < cfg.layers; l++) {
    const kind = layerRouter(cfg, l).kind;
    if (!(EXPORTED_ROUTERS as readonly string[]).includes(kind)) return `router ${kind} in layer ${l} (it depends on the whole batch; exported: ${EXPORTED_ROUTERS.join(", ")})`;
  }
  return null;
}

/** `[rows, cols]` row-major → `[cols, rows]`. */
function transpose(a: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = a[r * cols + c];
  return out;
}

const f32 = async (a: np.Array) => (await a.ref.data()) as Float32Array;
const tensor = (shape: number[], data: Float32Array): SafeTensor => ({ dtype: "F32", shape, data });

/** A Linear's weight (ours `[in, out]`) and bias as PyTorch's `name.weight` `[out, in]` and `name.bias`. */
function linear(out: Record<string, SafeTensor>, name: string, w: Float32Array, b: Float32Array, inDim: number, outDim: number): void {
  out[`${name}.weight`] = tensor([outDim, inDim], transpose(w, inDim, outDim));
  out[`${name}.bias`] = tensor([outDim], b);
}

/** A LayerNorm's scale and bias as PyTorch's `name.weight` and `name.bias`. */
async function layerNorm(out: Record<string, SafeTensor>, name: string, p: LayerNormParams): Promise<void> {
  out[`${name}.weight`] = tensor(p.scale.shape, await f32(p.scale));
  out[`${name}.bias`] = tensor(p.bias.shape, await f32(p.bias));
}

/** A block's LayerNorm and MoE layer or FFN, under `blocks.l.`. */
async function stackBlock(out: Record<string, SafeTensor>, block: ImageBlockParams | LmBlockParams, cfg: StackConfig, l: number): Promise<void> {
  const { d, h } = cfg;
  await layerNorm(out, `blocks.${l}.norm`, block.norm);
  if (block.ffn) {
    linear(out, `blocks.${l}.ffn.up`, await f32(block.ffn.up.w), await f32(block.ffn.up.b), d, h);
    linear(out, `blocks.${l}.ffn.down`, await f32(block.ffn.down.w), await f32(block.ffn.down.b), h, d);
  }
  if (block.shared) {
    const hs = sharedHidden(cfg);
    linear(out, `blocks.${l}.shared.up`, await f32(block.shared.up.w), await f32(block.shared.up.b), d, hs);
    linear(out, `blocks.${l}.shared.down`, await f32(block.shared.down.w), await f32(block.shared.down.b), hs, d);
  }
  if (block.moe) {
    const n = cfg.experts[l];
    const width = block.moe.router.w.shape[1]; // N, or N + null experts (adamoe)
    out[`blocks.${l}.moe.router.weight`] = tensor([width, d], transpose(await f32(block.moe.router.w), d, width));
    // The balancing bias steers selection only; a buffer beside the router, not the Linear's bias.
    if (block.moe.router.bias) out[`blocks.${l}.moe.selection_bias`] = tensor([n], await f32(block.moe.router.bias));
    if (block.moe.router.thresholds) out[`blocks.${l}.moe.thresholds`] = tensor([n], await f32(block.moe.router.thresholds));
    const [w1, b1, w2, b2] = [await f32(block.moe.w1), await f32(block.moe.b1), await f32(block.moe.w2), await f32(block.moe.b2)];
    for (let i = 0; i < n; i++) {
      linear(out, `blocks.${l}.moe.experts.${i}.up`, w1.subarray(i * d * h, (i + 1) * d * h), b1.subarray(i * h, (i + 1) * h), d, h);
      linear(out, `blocks.${l}.moe.experts.${i}.down`, w2.subarray(i * h * d, (i + 1) * h * d), b2.subarray(i * d, (i + 1) * d), h, d);
    }
  }
}

async function imageStateDict(p: ImageModelParams, cfg: ImageModelConfig): Promise<Record<string, SafeTensor>> {
  const out: Record<string, SafeTensor> = {};
  linear(out, "embed", await f32(p.embed.w), await f32(p.embed.b), cfg.inputDim, cfg.d);
  for (const [l, block] of p.blocks.entries()) await stackBlock(out, block, cfg, l);
  await layerNorm(out, "norm", p.norm);
  linear(out, "head", await f32(p.head.w), await f32(p.head.b), cfg.d, cfg.numClasses);
  return out;
}

/** The head is tied to `tokens.weight` and has no bias, so it has no tensor of its own. */
async function lmStateDict(p: LmModelParams, cfg: LmModelConfig): Promise<Record<string, SafeTensor>> {
  const { d } = cfg;
  const out: Record<string, SafeTensor> = {};
  out["tokens.weight"] = tensor([cfg.vocab, d], await f32(p.embed.tokens)); // nn.Embedding's [V, d], as ours
  out["positions.weight"] = tensor([cfg.context, d], await f32(p.embed.positions));
  for (const [l, block] of p.blocks.entries()) {
    if (block.attn && block.attnNorm) {
      await layerNorm(out, `blocks.${l}.attn_norm`, block.attnNorm);
      linear(out, `blocks.${l}.attn.qkv`, await f32(block.attn.qkv.w), await f32(block.attn.qkv.b), d, 3 * d);
      linear(out, `blocks.${l}.attn.out`, await f32(block.attn.out.w), await f32(block.attn.out.b), d, d);
    }
    await stackBlock(out, block, cfg, l);
  }
  await layerNorm(out, "norm", p.norm);
  return out;
}

const isLm = (cfg: ImageModelConfig | LmModelConfig): cfg is LmModelConfig => "vocab" in cfg;

/** The parameters as PyTorch's state dict (arrays read, not consumed). */
export async function pytorchStateDict(params: ImageModelParams, cfg: ImageModelConfig): Promise<Record<string, SafeTensor>>;
export async function pytorchStateDict(params: LmModelParams, cfg: LmModelConfig): Promise<Record<string, SafeTensor>>;
export async function pytorchStateDict(params: ImageModelParams | LmModelParams, cfg: ImageModelConfig | LmModelConfig): Promise<Record<string, SafeTensor>> {
  return isLm(cfg) ? lmStateDict(params as LmModelParams, cfg) : imageStateDict(params as ImageModelParams, cfg);
}

/**
 * What the export records beside the model, where known: an image run's class names and how its
 * pixels were normalised; a language model's tokenizer (its name and end-of-text id).
 */
export type ExportData = { classNames?: string[]; stats?: ChannelStats; tokenizer?: { name: string; eot: number } };

/** Each block's FFN kind, and an MoE block's experts and router, as the Python module reads them. */
function pytorchLayers(cfg: StackConfig): Record<string, unknown>[] {
  return Array.from({ length: cfg.layers }, (_, l) => {
    if (cfg.kind === "dense") return { kind: "dense" };
    const r = layerRouter(cfg, l);
    const router = { kind: r.kind, temperature: r.temperature, tau: r.tau, k: r.k, p: r.p, threshold: r.threshold, renormalize: r.renormalize, selection_bias: hasBalanceBias(r), width: routerWidth(cfg.experts[l], r) };
    return { kind: "moe", experts: cfg.experts[l], router, shared_hidden: sharedHidden(cfg) };
  });
}

/** The model's shape as the Python module reads it. */
export function pytorchConfig(cfg: ImageModelConfig | LmModelConfig, data: ExportData = {}): Record<string, unknown> {
  if (isLm(cfg)) {
    return {
      format: "dynamoe-pytorch-1",
      task: "lm",
      vocab: cfg.vocab,
      context: cfg.context,
      ...(data.tokenizer ? { tokenizer: data.tokenizer.name, eot: data.tokenizer.eot } : {}),
      d: cfg.d,
      h: cfg.h,
      // Heads only where there is attention: without it the run's `heads` is unused.
      attention: cfg.attention ? { heads: cfg.heads } : null,
      layers: pytorchLayers(cfg),
    };
  }
  return {
    format: "dynamoe-pytorch-1",
    task: "image",
    input_dim: cfg.inputDim,
    num_classes: cfg.numClasses,
    ...(data.classNames ? { class_names: data.classNames } : {}),
    // preprocess(): 8-bit pixels, channels last, to the model's input.
    ...(data.stats ? { normalize: { mean: data.stats.mean, std: data.stats.std } } : {}),
    d: cfg.d,
    h: cfg.h,
    layers: pytorchLayers(cfg),
  };
}

/** Write the export into `outDir`; returns the files written. */
export async function exportPytorch(params: ImageModelParams, cfg: ImageModelConfig, outDir: string, meta?: Record<string, string>, data?: ExportData): Promise<string[]>;
export async function exportPytorch(params: LmModelParams, cfg: LmModelConfig, outDir: string, meta?: Record<string, string>, data?: ExportData): Promise<string[]>;
export async function exportPytorch(params: ImageModelParams | LmModelParams, cfg: ImageModelConfig | LmModelConfig, outDir: string, meta: Record<string, string> = {}, data: ExportData = {}): Promise<string[]> {
  const why = pytorchUnsupported(cfg);
  if (why) throw new UserError(`export: cannot export ${why}`);
  makeFolder(outDir, "the export folder");
  const files = [join(outDir, "model.safetensors"), join(outDir, "config.json"), join(outDir, "dynamoe_model.py")];
  const state = isLm(cfg) ? await lmStateDict(params as LmModelParams, cfg) : await imageStateDict(params as ImageModelParams, cfg);
  writeFileAtomic(files[0], encodeSafetensors(state, meta));
  writeFileAtomic(files[1], JSON.stringify(pytorchConfig(cfg, data), null, 2) + "\n");
  writeFileAtomic(files[2], PYTORCH_MODULE);
  return files;
}
