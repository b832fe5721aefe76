/**
 * Checkpoints: parameters, AdamW state, the step counters and the PRNG key in one safetensors
 * file, written atomically (`io/runFiles.ts`) so a crash or a full disk never leaves a half-written
 * one, and never written with a NaN or infinite value in it (`NonFiniteError`).
 */
import { existsSync, readFileSync } from "node:fs";
import { writeFileAtomic } from "../io/runFiles.js";
import { numpy as np } from "../engine/jax.js";
import { UserError } from "../errors.js";
import type { AdamWState } from "../steps/adamw.js";
import { flattenWithPaths, mapWithPaths } from "../engine/paramTree.js";
import { decodeSafetensors, encodeSafetensors, type SafeTensor } from "../io/safetensors.js";

export const CHECKPOINT_FILE = "checkpoint.safetensors";
/** With `keepBest`: the training state of the best validation evaluation. */
export const BEST_FILE = "best.safetensors";
const FORMAT = "dynamoe-checkpoint-1";

/** Where training stands: `epoch` and the index of the next batch within it. */
export type Progress = { step: number; epoch: number; batch: number };

export type TrainState<P> = { params: P; opt: AdamWState<P>; key: np.Array; progress: Progress };

async function toTensor(a: np.Array): Promise<SafeTensor> {
  const shape = a.shape;
  const data = await a.ref.data();
  if (data instanceof Float32Array) return { dtype: "F32", shape, data };
  if (data instanceof Uint32Array) return { dtype: "U32", shape, data };
  if (data instanceof Int32Array) return { dtype: "I32", shape, data };
  throw new Error(`checkpoint: unsupported array type ${data.constructor.name}`);
}

function fromTensor(t: SafeTensor): np.Array {
  const dtype = t.dtype === "U32" ? np.uint32 : t.dtype === "I32" ? np.int32 : np.float32;
  return np.array(t.data, { dtype }).reshape(t.shape);
}

/** A training state with a NaN or infinite value: never written as a checkpoint. */
export class NonFiniteError extends Error {
  override name = "NonFiniteError";
}

/** Serialise a training state (arrays are read, not consumed) to `path`, atomically. */
export async function saveCheckpoint<P>(path: string, state: TrainState<P>, extra: Record<string, string> = {}): Promise<void> {
  writeFileAtomic(path, await encodeCheckpoint(state, extra));
}

/** A training state as the bytes of a checkpoint file (arrays are read, not consumed); `NonFiniteError` for a NaN or infinite value. */
export async function encodeCheckpoint<P>(state: TrainState<P>, extra: Record<string, string> = {}): Promise<Buffer> {
  const tensors: Record<string, SafeTensor> = {};
  for (const [p, a] of flattenWithPaths(state.params)) tensors[`params.${p}`] = await toTensor(a);
  for (const [p, a] of flattenWithPaths(state.opt.mu)) tensors[`opt.mu.${p}`] = await toTensor(a);
  for (const [p, a] of flattenWithPaths(state.opt.nu)) tensors[`opt.nu.${p}`] = await toTensor(a);
  tensors["opt.count"] = await toTensor(state.opt.count);
  tensors["rng.key"] = await toTensor(state.key);
  for (const [name, t] of Object.entries(tensors)) {
    if (t.dtype !== "F32") continue;
    const bad = t.data.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw new NonFiniteError(`${name.startsWith("params.") ? "the parameters" : "the optimizer state"} became ${t.data[bad]} (${name})`);
  }
  const meta = { format: FORMAT, progress: JSON.stringify(state.progress), ...extra };
  return encodeSafetensors(tensors, meta);
}

export function checkpointExists(path: string): boolean {
  return existsSync(path);
}

/**
 * Load a training state into the structure of `template` (freshly initialised parameters, which
 * are consumed). Shapes must match: a checkpoint from another model configuration is a `UserError`.
 */
export function loadCheckpoint<P>(path: string, template: P): TrainState<P> & { metadata: Record<string, string> } {
  const { tensors, metadata } = decodeSafetensors(readFileSync(path), path);
  if (metadata.format !== FORMAT) throw new UserError(`${path}: not a dynamoe checkpoint`);
  const progress = parseProgress(metadata.progress, path);
  try {
    if (typeof metadata.window === "string") JSON.parse(metadata.window);
  } catch {
    throw new UserError(`${path}: its logging window is not JSON (the file was altered)`);
  }
  const take = (name: string, like?: { shape: readonly number[] }, dtype: SafeTensor["dtype"] = "F32"): np.Array => {
    const t = tensors[name];
    if (!t) throw new UserError(`${path}: missing tensor ${name} (checkpoint from another model configuration?)`);
    if (t.dtype !== dtype) throw new UserError(`${path}: ${name} is ${t.dtype}, a checkpoint holds ${dtype} there (the file was altered)`);
    if (dtype === "F32" && t.data.some((v) => !Number.isFinite(v))) throw new UserError(`${path}: ${name} holds NaN or infinite values; the checkpoint is not usable`);
    if (like && like.shape.join(",") !== t.shape.join(",")) {
      throw new UserError(`${path}: ${name} has shape [${t.shape}] but the model expects [${like.shape}]`);
    }
    return fromTensor(t);
  };
  const load = (prefix: string) =>
    mapWithPaths(template, (p, leaf) => {
      const a = take(`${prefix}.${p}`, leaf);
      return a;
    });
  const params = load("params");
  const mu = load("opt.mu");
  const nu = load("opt.nu");
  for (const [, leaf] of flattenWithPaths(template)) leaf.dispose();
  return {
    params,
    opt: { mu, nu, count: take("opt.count", { shape: [] }) },
    key: take("rng.key", undefined, "U32"),
    progress,
    metadata,
  };
}

/** The checkpoint's `progress` metadata, checked: non-negative whole numbers. */
function parseProgress(text: string | undefined, path: string): Progress {
  let p: unknown;
  try {
    p = JSON.parse(text ?? "");
  } catch {
    throw new UserError(`${path}: its progress record is missing or not JSON (the file was altered)`);
  }
  const ok = (v: unknown) => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
  const r = p as Progress;
  if (!r || typeof r !== "object" || !ok(r.step) || !ok(r.epoch) || !ok(r.batch)) {
    throw new UserError(`${path}: its progress record ${text} is not three non-negative whole numbers (the file was altered)`);
  }
  return { step: r.step, epoch: r.epoch, batch: r.batch };
}
