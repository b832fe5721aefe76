/**
 * The one place that picks how a training step runs, for `dynamoe train`, every benchmark and the
 * library: the engine (`native`: our WebAssembly SIMD kernels; `jax`: jax-js's compiled step, the
 * reference and the WebGPU path; `auto`: native wherever it supports the model), and the trainer
 * that holds the state between steps (`trainer.ts`).
 */
import { numpy as np, tree } from "../engine/jax.js";
import { nativeThreads, preparedThreads } from "../engine/preload.js";
import { spawnNodeWorker } from "../kernels/nodeWorkers.js";
import { UserError } from "../errors.js";
import type { HeadKernel } from "../models/headKernel.js";
import type { ImageModelConfig, ImageModelParams } from "../models/imageModel.js";
import type { LmModelConfig, LmModelParams } from "../models/lmModel.js";
import { adamw, type AdamWOptions, type AdamWState } from "./adamw.js";
import { makeTrainStep } from "./imageStep.js";
import { makeLmTrainStep } from "./lmStep.js";
import { NativeImageStep, nativeImageUnsupported } from "./nativeImageStep.js";
import { NativeLmStep, nativeLmUnsupported } from "./nativeLmStep.js";
import { hostTrainer, jitTrainer, type Trainer } from "./trainer.js";

export const ENGINES = ["auto", "native", "jax"] as const;
/** Which engine runs the training step; `auto` takes `native` wherever it supports the model. */
export type Engine = (typeof ENGINES)[number];

/** What an engine choice resolves to. */
export type EngineUsed = Exclude<Engine, "auto">;

export type ModelConfig = ImageModelConfig | LmModelConfig;

function isLm(model: ModelConfig): model is LmModelConfig {
  return "vocab" in model;
}

/** Why the native engine cannot run `model` on `device` (then `jax` does), or null when it can. */
export function nativeUnsupported(model: ModelConfig, device: string): string | null {
  if (device !== "wasm") return `the ${device} device (the native engine runs on the CPU)`;
  if (isLm(model)) return nativeLmUnsupported(model);
  return nativeImageUnsupported(model);
}

/**
 * The engine a run takes. Throws a `UserError` naming the reason when `native` is asked for and
 * cannot run the model.
 */
export function chooseEngine(engine: Engine, model: ModelConfig, device: string): EngineUsed {
  if (engine === "jax") return "jax";
  const reason = nativeUnsupported(model, device);
  if (!reason) return "native";
  if (engine === "native") throw new UserError(`engine "native" does not support ${reason}; use "auto" or "jax"`);
  return "jax";
}

/** A training batch: examples `order[start .. start+batch)` as host arrays (images `[B·inputDim]`, or token ids `[B·S]` with targets). */
export type BatchSource = (order: Int32Array, start: number) => { x: Float32Array | Int32Array; y: Int32Array };

export type TrainerOptions = {
  /** The engine asked for. @default "auto" */
  engine?: Engine;
  /** The jax-js device (`wasm` or `webgpu`). @default "wasm" */
  device?: string;
  /** Examples per step (images or sequences). */
  batch: number;
  adam: AdamWOptions;
  /** Global gradient-norm clip; 0 disables. */
  clip: number;
  /** Threads of the native engine (the numbers do not depend on it). @default nativeThreads() (`DYNAMOE_THREADS`, else every core) */
  threads?: number;
  /** Language models: the output layer's chunk and implementation, and sequences per trunk pass. */
  lm?: { headChunk?: number; headKernel?: HeadKernel; microBatch?: number };
};

/**
 * The trainer for `model`: its state starts at `params` and `opt` (both consumed), and each step
 * trains on the batch `batches` returns.
 */
export async function makeTrainer(
  model: ModelConfig, opts: TrainerOptions, params: unknown, opt: AdamWState<unknown>, batches: BatchSource,
): Promise<Trainer<unknown>> {
  const engine = chooseEngine(opts.engine ?? "auto", model, opts.device ?? "wasm");
  const b = opts.batch;
  if (engine === "native") {
    const threads = { threads: opts.threads ?? nativeThreads(), spawn: spawnNodeWorker };
    const native = isLm(model)
      ? await NativeLmStep.create(model, b, opts.adam, opts.clip, params as LmModelParams, opt as AdamWState<LmModelParams>, threads, opts.lm?.headChunk)
      : await NativeImageStep.create(model, b, opts.adam, opts.clip, params as ImageModelParams, opt as AdamWState<ImageModelParams>, threads);
    tree.dispose([params, opt]);
    return hostTrainer<unknown>({
      threads: native.threads,
      close: () => native.close(),
      step(order, start, key, lr) {
        const { x, y } = batches(order, start);
        return native instanceof NativeLmStep ? native.step(x as Int32Array, y, key, lr) : native.step(x as Float32Array, y, key, lr);
      },
      gradient(order, start, key) {
        const { x, y } = batches(order, start);
        return native instanceof NativeLmStep ? native.gradient(x as Int32Array, y, key) : native.gradient(x as Float32Array, y, key);
      },
      readParams: () => native.params(),
      readOpt: () => native.opt(),
    });
  }
  const lrArray = (lr: number) => np.array(lr);
  if (isLm(model)) {
    const step = makeLmTrainStep(model, adamw(opts.adam), opts.clip, opts.lm ?? {});
    const s = model.context;
    return jitTrainer<unknown>(
      (p, state, order, start, key, lr) => {
        const { x, y } = batches(order, start);
        return step(p as LmModelParams, state as AdamWState<LmModelParams>, np.array(x, { dtype: np.int32 }).reshape([b, s]), np.array(y, { dtype: np.int32 }), key, lr);
      },
      params, opt, lrArray, preparedThreads,
    );
  }
  const step = makeTrainStep(model, adamw(opts.adam), opts.clip);
  return jitTrainer<unknown>(
    (p, state, order, start, key, lr) => {
      const { x, y } = batches(order, start);
      return step(p as ImageModelParams, state as AdamWState<ImageModelParams>, np.array(x).reshape([b, model.inputDim]), np.array(y, { dtype: np.int32 }), key, lr);
    },
    params, opt, lrArray, preparedThreads,
  );
}
