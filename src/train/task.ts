/**
 * What the training loop (`train.ts`) needs from a task: its data and model behind one small
 * interface, so checkpoints, resume, logging and events are written once for every task; the step
 * itself comes from `steps/makeTrainer.ts`. `imageTask.ts` (classification) and `lmTask.ts`
 * (language modelling) implement it.
 */
import type { numpy as np } from "../engine/jax.js";
import type { BatchSource, ModelConfig, TrainerOptions } from "../steps/makeTrainer.js";
import type { NativeThreads } from "../steps/nativeStep.js";
import type { EvalResult } from "./evaluate.js";

/** Evaluates parameters (not consumed); `close` ends it (threads of a native pass). */
export type TaskEvaluator<P> = ((params: P) => Promise<EvalResult>) & { close(): void };

export type TaskRun<P> = {
  /** The dataset or corpus name, for the summary. */
  dataName: string;
  kind: "dense" | "moe";
  /** Experts per MoE layer (empty for dense). */
  experts: number[];
  /** Examples (images, or sequences) in one epoch of training data. */
  trainExamples: number;
  /** What `correct` counts in a step (images, or tokens) per step. */
  countedPerStep: number;
  /** Initialise parameters; `key` is consumed. */
  init(key: np.Array): P;
  /** Parameter counts to report (the language model adds its count without embeddings). */
  paramCounts(params: P): { params: number; paramsNonEmbedding?: number };
  /** The model the run trains. */
  modelConfig: ModelConfig;
  /** The training batch at examples `order[start .. start+batch)`. */
  batches: BatchSource;
  /** Options of the language model's step (output layer, micro-batches). */
  stepOptions?: TrainerOptions["lm"];
  /**
   * Build the gradient function: the gradient of the training loss at `params` (not consumed) on
   * examples `order[start .. start+batch)`, as a step computes it but without clipping or update;
   * consumes `key`. For gradient-variance measurements (`src/analysis/measureGradVariance.ts`).
   */
  makeGradFn(): (params: P, order: Int32Array, start: number, key: np.Array) => P | Promise<P>;
  /**
   * Evaluate on the split evaluated during training (validation; images without one: test) (does not
   * consume `params`), on our kernels on `native`'s threads where given (the run's step is native).
   */
  makeEvaluator(native: NativeThreads | null): TaskEvaluator<P>;
  /** Evaluate on the test set, once at the end; present only when `makeEvaluator` is not already the test set. */
  makeTestEvaluator?(native: NativeThreads | null): TaskEvaluator<P>;
  /** Per MoE layer, its training-step dispatch plan as a short label. */
  dispatch: string[];
  /** Files to add to a new run folder (e.g. the document split), name → contents. */
  runFiles?: Record<string, string>;
};
