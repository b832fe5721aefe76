/**
 * What the training loop (`train.ts`) needs from a task: its data, model and compiled step behind
 * one small interface, so checkpoints, resume, logging and events are written once for every task.
 * `imageTask.ts` (classification) and `lmTask.ts` (language modelling) implement it.
 */
import type { numpy as np } from "../engine/jax.js";
import type { AdamW, AdamWOptions, AdamWState } from "./adamw.js";
import type { Trainer } from "./trainer.js";
import type { EvalResult } from "./evaluate.js";

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
  /**
   * Build the step: `(params, opt, order, start, key, lr)` trains on examples `order[start ..
   * start+batch)`; consumes params, opt, key and lr; returns the packed stats of `unpackStepStats`.
   */
  makeStep(opt: AdamW, clip: number): (params: P, state: AdamWState<P>, order: Int32Array, start: number, key: np.Array, lr: np.Array) => [P, AdamWState<P>, np.Array] | Promise<[P, AdamWState<P>, np.Array]>;
  /**
   * Build the gradient function: the gradient of the training loss at `params` (not consumed) on
   * examples `order[start .. start+batch)`, as a step computes it but without clipping or update;
   * consumes `key`. For gradient-variance measurements (`src/analysis/measureGradVariance.ts`).
   */
  makeGradFn(): (params: P, order: Int32Array, start: number, key: np.Array) => P | Promise<P>;
  /** Evaluate on the held-out split (does not consume `params`). */
  makeEvaluator(): (params: P) => Promise<EvalResult>;
  /**
   * Why this run cannot take the native step (`trainer.ts`) on `device`, or null when it can;
   * absent when the task has no native step.
   */
  nativeUnsupported?(device: string): string | null;
  /** The native trainer, holding copies of `params` and `state` (consumed). */
  makeNativeTrainer?(hyper: AdamWOptions, clip: number, params: P, state: AdamWState<P>): Promise<Trainer<P>>;
  /** Per MoE layer, its training-step dispatch plan as a short label. */
  dispatch: string[];
  /** Files to add to a new run folder (e.g. the document split), name → contents. */
  runFiles?: Record<string, string>;
};
