/**
 * What the native steps (`nativeImageStep.ts`, `nativeLmStep.ts`) share: one kernel instance on its
 * own shared memory with its thread pool, the state in kernel memory (`NativeParams`), the blocks
 * (`NativeStack`), and reading the state back as jax-js trees.
 */
import type { numpy as np } from "../engine/jax.js";
import type { KernelPool, SpawnWorker } from "../kernels/kernelPool.js";
import { Arena, mlpInstance } from "../kernels/mlpKernel.js";
import { mlpPool, parallelKernels, type Kernels } from "../kernels/parallelKernels.js";
import type { HostDraws } from "../moe/drawSchedule.js";
import type { AdamWState } from "./adamw.js";
import type { NativeParams } from "./nativeParams.js";
import type { NativeStack } from "./nativeStack.js";

/**
 * The threads a native step runs on: how many, how a worker starts, and (tests) the smallest call
 * worth splitting and the chunks per thread, as `parallelKernels` takes them.
 */
export type NativeThreads = { threads: number; spawn: SpawnWorker; minWork?: number; chunksPerThread?: number };
export const ONE_THREAD: NativeThreads = { threads: 1, spawn: () => ({ stop() {} }) };

/** A fresh kernel instance, its arena and (after `commit`) its kernels on `threads`. */
export function nativeMemory(threads: NativeThreads) {
  const mem = new Arena(mlpInstance());
  const startPool = mlpPool(mem, threads.threads, threads.spawn);
  return {
    mem,
    /** Grow the memory and start the pool: returns the kernels and the pool. */
    commit(): { k: Kernels; pool: KernelPool | null } {
      mem.commit();
      const pool = startPool();
      return { k: parallelKernels(mem.k, pool, threads.minWork, threads.chunksPerThread), pool };
    },
  };
}

/** A native step's state and threads; subclasses add their buffers and `step`. */
export abstract class NativeStep<P> {
  protected abstract readonly k: Kernels;
  protected abstract readonly pool: KernelPool | null;
  protected abstract readonly mem: Arena;
  protected abstract readonly p: NativeParams<P>;
  protected abstract readonly stack: NativeStack;

  /** Copy `params` and `opt` in (neither is consumed) and wait for the workers to start. */
  protected async start(params: P, opt: AdamWState<P>): Promise<void> {
    await Promise.all([this.p.load(params, opt), this.pool?.ready()]);
  }

  /** The step's router draws from `key` (consumed), or null when no router draws. */
  protected async draws(key: np.Array): Promise<HostDraws[] | null> {
    if (!this.stack.drawsNoise) {
      key.dispose();
      return null;
    }
    return this.stack.draws(this.k, Array.from(await key.data()) as [number, number]);
  }

  /** The current parameters as fresh jax-js arrays (the caller owns them). */
  params(): P {
    return this.p.tree(this.p.P);
  }

  /** The current optimizer state as fresh jax-js arrays (the caller owns them). */
  opt(): AdamWState<P> {
    return this.p.opt();
  }

  /** The gradient of the last step, before clipping, as fresh jax-js arrays (for tests). */
  gradients(): P {
    return this.p.tree(this.p.G);
  }

  /** Threads the kernels run on. */
  get threads(): number {
    return this.pool?.threads ?? 1;
  }

  /** Stop the worker threads (the state stays readable). */
  close(): void {
    this.pool?.close();
  }

  /** Bytes of kernel memory this step holds. */
  get bytes(): number {
    return this.mem.bytes;
  }
}

/** What the evaluation passes (`nativeImageEval.ts`, `nativeLmEval.ts`) share: their own kernels, memory and threads, and the parameters only. */
export abstract class NativeEvalPass<P> {
  protected abstract readonly k: Kernels;
  protected abstract readonly pool: KernelPool | null;
  protected abstract readonly mem: Arena;
  protected abstract readonly p: NativeParams<P>;

  /** Copy the parameters to evaluate in (not consumed). */
  load(params: P): Promise<void> {
    return this.p.load(params);
  }

  /** Stop the worker threads. */
  close(): void {
    this.pool?.close();
  }
}

/**
 * An evaluation pass made at the first evaluation (its memory is shaped by the parameters), the
 * parameters copied in at each: `begin(params)` loads them and returns the pass; `close` stops it.
 */
export function lazyEvalPass<P, E extends NativeEvalPass<P>>(create: (params: P) => Promise<E>): { begin(params: P): Promise<E>; close(): void } {
  let pass: Promise<E> | null = null;
  return {
    async begin(params) {
      pass ??= create(params);
      const e = await pass;
      await e.load(params);
      return e;
    },
    close() {
      void pass?.then((e) => e.close());
      pass = null;
    },
  };
}
