/**
 * Where a run's parameters and optimizer state live between steps, behind one interface, so the
 * training loop is written once for both engines (`makeTrainer.ts` picks one):
 *
 * - `jax`: jax-js's compiled step (`imageStep.ts`, `lmStep.ts`): the state is jax-js arrays; every
 *   model and router, CPU or WebGPU. The reference the native engine is tested against.
 * - `native`: our WebAssembly SIMD kernels (`nativeImageStep.ts`): the state stays in kernel memory
 *   and is read back as jax-js arrays only when the loop asks (evaluation, checkpoints).
 */
import { tree, type numpy as np } from "../engine/jax.js";
import type { AdamWState } from "./adamw.js";

export type Trainer<P> = {
  kind: "jax" | "native";
  /** Threads the step runs on. */
  threads: number;
  /**
   * Train on examples `order[start .. start+batch)` with router noise from `key` (consumed) at
   * learning rate `lr`; resolves to the packed stats of `unpackStepStats`.
   */
  step(order: Int32Array, start: number, key: np.Array, lr: number): Promise<ArrayLike<number>>;
  /**
   * Where the engine computes gradients itself (`native`): the gradient at the current parameters on
   * examples `order[start .. start+batch)` with router noise from `key` (consumed), before clipping,
   * nothing updated; the caller owns it. Absent: the task's jitted gradient is used (gradient variance).
   */
  gradient?(order: Int32Array, start: number, key: np.Array): Promise<P>;
  /** The current parameters, borrowed: valid until the next step; do not dispose. */
  params(): P;
  /** The current optimizer state, borrowed like `params()`. */
  opt(): AdamWState<P>;
  /** Release the state; returns the final parameters, which the caller then owns. */
  finish(): P;
};

/** A jax-js step over examples `order[start .. start+batch)` (consumes params, state, key and lr). */
export type StepFn<P> = (
  params: P, state: AdamWState<P>, order: Int32Array, start: number, key: np.Array, lr: np.Array,
) => [P, AdamWState<P>, np.Array] | Promise<[P, AdamWState<P>, np.Array]>;

/** The `jax` trainer over a jax-js step function; takes ownership of `params` and `opt`. */
export function jitTrainer<P>(step: StepFn<P>, params: P, opt: AdamWState<P>, lrArray: (lr: number) => np.Array, threads: number): Trainer<P> {
  return {
    kind: "jax",
    threads,
    async step(order, start, key, lr) {
      const [p, o, packed] = await step(params, opt, order, start, key, lrArray(lr));
      params = p;
      opt = o;
      return await packed.data();
    },
    params: () => params,
    opt: () => opt,
    finish() {
      tree.dispose(opt);
      return params;
    },
  };
}

/**
 * A trainer over host-resident state (the `native` kind): `read()` makes fresh jax-js copies, which
 * are cached until the next step and disposed then.
 */
export function hostTrainer<P>(impl: {
  threads: number;
  /** Stop the step's threads (after `finish`). */
  close(): void;
  step(order: Int32Array, start: number, key: np.Array, lr: number): Promise<ArrayLike<number>>;
  gradient(order: Int32Array, start: number, key: np.Array): Promise<P>;
  readParams(): P;
  readOpt(): AdamWState<P>;
}): Trainer<P> {
  let params: P | null = null;
  let opt: AdamWState<P> | null = null;
  const drop = () => {
    if (params) tree.dispose(params);
    if (opt) tree.dispose(opt);
    params = opt = null;
  };
  return {
    kind: "native",
    threads: impl.threads,
    step(order, start, key, lr) {
      drop();
      return impl.step(order, start, key, lr);
    },
    gradient: (order, start, key) => impl.gradient(order, start, key),
    params: () => (params ??= impl.readParams()),
    opt: () => (opt ??= impl.readOpt()),
    finish() {
      const out = params ?? impl.readParams();
      if (opt) tree.dispose(opt);
      params = opt = null;
      impl.close();
      return out;
    },
  };
}
