/**
 * An image run out to PyTorch (`dynamoe export --format pytorch RUN`): into one folder, the weights
 * in PyTorch's layout (`model.safetensors`, float32 only, no optimizer or random state), the model's
 * shape (`config.json`) and a readable Python module that defines the same model
 * (`dynamoe_model.py`, from `pytorchModule.ts`). Evaluation gives the same predictions as
 * `dynamoe eval` (tested with Debian's PyTorch in `test/train/exportPytorch.test.ts`).
 *
 * Names and layouts, ours → PyTorch's state dict (`docs/run-folders.md` has the checkpoint's):
 *   embed.w [in, d]                  → embed.weight [d, in]            (and every Linear alike: transposed)
 *   blocks.l.norm.scale / .bias       → blocks.l.norm.weight / .bias
 *   blocks.l.moe.router.w [d, N]      → blocks.l.moe.router.weight [N, d]  (no bias)
 *   blocks.l.moe.w1 [N, d, h], b1     → blocks.l.moe.experts.i.up.weight [h, d], .bias   (one module per expert)
 *   blocks.l.moe.w2 [N, h, d], b2     → blocks.l.moe.experts.i.down.weight [d, h], .bias
 *   blocks.l.ffn.up / .down           → blocks.l.ffn.up / .down
 *
 * Only the rules that select from a token's own gates are exported (`EXPORTED_ROUTERS`): the others
 * depend on the whole batch (capacities, expert choice, the batch percentile), which a PyTorch
 * `forward` on arbitrary batches would not reproduce.
 */
import { join } from "node:path";
import type { ImageModelConfig, ImageModelParams } from "../models/imageModel.js";
import { layerRouter } from "../models/stackConfig.js";
import { makeFolder } from "../io/makeFolder.js";
import { writeFileAtomic } from "../io/runFiles.js";
import { UserError } from "../errors.js";
import { encodeSafetensors, type SafeTensor } from "./safetensors.js";
import { PYTORCH_MODULE } from "./pytorchModule.js";
import type { numpy as np } from "../engine/jax.js";
import type { ChannelStats } from "../data/normalize.js";

/** The routing rules the Python module implements. */
export const EXPORTED_ROUTERS = ["percentile", "topk", "top-p", "threshold"] as const;

/** Why `cfg` cannot be exported, or null. */
export function pytorchUnsupported(cfg: ImageModelConfig): string | null {
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

/** The parameters as PyTorch's state dict (arrays read, not consumed). */
export async function pytorchStateDict(params: ImageModelParams, cfg: ImageModelConfig): Promise<Record<string, SafeTensor>> {
  const { d, h } = cfg;
  const out: Record<string, SafeTensor> = {};
  linear(out, "embed", await f32(params.embed.w), await f32(params.embed.b), cfg.inputDim, d);
  for (const [l, block] of params.blocks.entries()) {
    out[`blocks.${l}.norm.weight`] = tensor([d], await f32(block.norm.scale));
    out[`blocks.${l}.norm.bias`] = tensor([d], await f32(block.norm.bias));
    if (block.ffn) {
      linear(out, `blocks.${l}.ffn.up`, await f32(block.ffn.up.w), await f32(block.ffn.up.b), d, h);
      linear(out, `blocks.${l}.ffn.down`, await f32(block.ffn.down.w), await f32(block.ffn.down.b), h, d);
    }
    if (block.moe) {
      const n = cfg.experts[l];
      out[`blocks.${l}.moe.router.weight`] = tensor([n, d], transpose(await f32(block.moe.router.w), d, n));
      const [w1, b1, w2, b2] = [await f32(block.moe.w1), await f32(block.moe.b1), await f32(block.moe.w2), await f32(block.moe.b2)];
      for (let i = 0; i < n; i++) {
        linear(out, `blocks.${l}.moe.experts.${i}.up`, w1.subarray(i * d * h, (i + 1) * d * h), b1.subarray(i * h, (i + 1) * h), d, h);
        linear(out, `blocks.${l}.moe.experts.${i}.down`, w2.subarray(i * h * d, (i + 1) * h * d), b2.subarray(i * d, (i + 1) * d), h, d);
      }
    }
  }
  out["norm.weight"] = tensor([d], await f32(params.norm.scale));
  out["norm.bias"] = tensor([d], await f32(params.norm.bias));
  linear(out, "head", await f32(params.head.w), await f32(params.head.b), d, cfg.numClasses);
  return out;
}

/** What the export records beside the model: the class names and how pixels were normalised, where known. */
export type ExportData = { classNames?: string[]; stats?: ChannelStats };

/** The model's shape as the Python module reads it. */
export function pytorchConfig(cfg: ImageModelConfig, data: ExportData = {}): Record<string, unknown> {
  const layers = Array.from({ length: cfg.layers }, (_, l) => {
    if (cfg.kind === "dense") return { kind: "dense" };
    const r = layerRouter(cfg, l);
    return { kind: "moe", experts: cfg.experts[l], router: { kind: r.kind, temperature: r.temperature, tau: r.tau, k: r.k, p: r.p, threshold: r.threshold, renormalize: r.renormalize } };
  });
  return {
    format: "dynamoe-pytorch-1",
    input_dim: cfg.inputDim,
    num_classes: cfg.numClasses,
    ...(data.classNames ? { class_names: data.classNames } : {}),
    // preprocess(): 8-bit pixels, channels last, to the model's input.
    ...(data.stats ? { normalize: { mean: data.stats.mean, std: data.stats.std } } : {}),
    d: cfg.d,
    h: cfg.h,
    layers,
  };
}

/** Write the export into `outDir`; returns the files written. */
export async function exportPytorch(params: ImageModelParams, cfg: ImageModelConfig, outDir: string, meta: Record<string, string> = {}, data: ExportData = {}): Promise<string[]> {
  const why = pytorchUnsupported(cfg);
  if (why) throw new UserError(`export: cannot export ${why}`);
  makeFolder(outDir, "the export folder");
  const files = [join(outDir, "model.safetensors"), join(outDir, "config.json"), join(outDir, "dynamoe_model.py")];
  writeFileAtomic(files[0], encodeSafetensors(await pytorchStateDict(params, cfg), meta));
  writeFileAtomic(files[1], JSON.stringify(pytorchConfig(cfg, data), null, 2) + "\n");
  writeFileAtomic(files[2], PYTORCH_MODULE);
  return files;
}
