/**
 * A pool of threads that run one kernel module's exports over one shared WebAssembly memory.
 *
 * Each call is a fork and a join: the calling thread writes one argument list per thread into a
 * shared control block, wakes the workers, runs its own share, and waits until every worker has run
 * its share. Work is split by the caller (`parallelKernels.ts`) into disjoint output ranges, never
 * across a reduction, so the numbers do not depend on the thread count.
 *
 * Waking a sleeping thread costs tens of microseconds, and a training step makes hundreds of calls,
 * so both sides spin on the control block for a while before they sleep (`Atomics.wait`).
 *
 * Workers are started from source text (`KERNEL_WORKER_SOURCE`), so the same code runs from the
 * TypeScript sources, the built package or a bundle; `spawn` starts one (Node's `worker_threads` by
 * default, `nodeWorkers.ts`; a browser passes a `Worker` over a Blob URL).
 */

/** Slots of the control block (Int32). */
const GEN = 0; // bumped by the caller for each call; workers wait on it
const OP = 1; // index of the export to run; -1 stops the workers
const PENDING = 2; // workers still running the current call
const FAILED = 3; // set by a worker whose share threw (a trap); the caller throws after the join
const READY = 4; // workers that have started (instantiated the module on the shared memory)
const HEADER_BYTES = 64;
/** Argument slots per thread; slot 0 is the argument count (-1: nothing to do this call). */
export const ARG_SLOTS = 20;

/** Spins before sleeping (Atomics.load round trips, about 10 ns each). */
const SPIN = 20_000;

/** The code each worker runs: instantiate the module on the shared memory, then serve calls. */
export const KERNEL_WORKER_SOURCE = `
"use strict";
function serve(w) {
  const inst = new WebAssembly.Instance(w.module, { env: { memory: w.memory } });
  inst.exports.__stack_pointer.value = w.stackTop;
  const fns = w.names.map((n) => inst.exports[n]);
  const ctl = new Int32Array(w.control, 0, ${HEADER_BYTES / 4});
  const args = new Float64Array(w.control, ${HEADER_BYTES}, w.threads * ${ARG_SLOTS});
  const base = w.tid * ${ARG_SLOTS};
  let seen = 0;
  Atomics.add(ctl, ${READY}, 1);
  for (;;) {
    let spins = 0;
    while (Atomics.load(ctl, ${GEN}) === seen) {
      if (++spins > ${SPIN}) { Atomics.wait(ctl, ${GEN}, seen); spins = 0; }
    }
    seen = Atomics.load(ctl, ${GEN});
    const op = ctl[${OP}];
    if (op < 0) return;
    const n = args[base];
    if (n >= 0) {
      const a = [];
      for (let i = 1; i <= n; i++) a.push(args[base + i]);
      try { fns[op](...a); } catch (e) { Atomics.store(ctl, ${FAILED}, w.tid); }
    }
    if (Atomics.sub(ctl, ${PENDING}, 1) === 1) Atomics.notify(ctl, ${PENDING});
  }
}
`;

/** What a worker is started with (structured-cloneable). */
export type KernelWorkerData = {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  control: SharedArrayBuffer;
  names: string[];
  tid: number;
  threads: number;
  stackTop: number;
};

/** A started worker: `stop()` ends it. */
export type WorkerHandle = { stop(): void };
export type SpawnWorker = (data: KernelWorkerData) => WorkerHandle;

export class KernelPool {
  private readonly ctl: Int32Array;
  private readonly args: Float64Array;
  private readonly fns: ((...a: number[]) => unknown)[];
  private readonly opIndex: Map<string, number>;
  private readonly workers: WorkerHandle[] = [];
  private closed = false;

  /**
   * `threads` threads (the caller is thread 0) running `names` of the module whose instance on the
   * shared memory is `exports`; `stackTops[t - 1]` is worker t's stack (16-byte aligned, in memory).
   */
  constructor(
    readonly threads: number,
    module: WebAssembly.Module,
    memory: WebAssembly.Memory,
    exports: Record<string, unknown>,
    names: string[],
    stackTops: number[],
    spawn: SpawnWorker,
  ) {
    const control = new SharedArrayBuffer(HEADER_BYTES + threads * ARG_SLOTS * 8);
    this.ctl = new Int32Array(control, 0, HEADER_BYTES / 4);
    this.args = new Float64Array(control, HEADER_BYTES, threads * ARG_SLOTS);
    this.fns = names.map((n) => exports[n] as (...a: number[]) => unknown);
    this.opIndex = new Map(names.map((n, i) => [n, i]));
    for (let t = 1; t < threads; t++) {
      this.workers.push(spawn({ module, memory, control, names, tid: t, threads, stackTop: stackTops[t - 1] }));
    }
  }

  /**
   * Run export `name` once per thread with `parts[t]` (null: thread t sits this one out) and wait
   * for all of them. `parts.length` must be the thread count.
   */
  run(name: string, parts: (number[] | null)[]): void {
    const op = this.opIndex.get(name);
    if (op === undefined) throw new Error(`KernelPool: no export ${name}`);
    if (this.closed) throw new Error("KernelPool: closed");
    const T = this.threads;
    for (let t = 1; t < T; t++) {
      const p = parts[t], at = t * ARG_SLOTS;
      if (!p) {
        this.args[at] = -1;
        continue;
      }
      if (p.length >= ARG_SLOTS) throw new Error(`KernelPool: ${name} takes at most ${ARG_SLOTS - 1} arguments`);
      this.args[at] = p.length;
      for (let i = 0; i < p.length; i++) this.args[at + 1 + i] = p[i];
    }
    const ctl = this.ctl;
    ctl[OP] = op;
    Atomics.store(ctl, PENDING, T - 1);
    Atomics.add(ctl, GEN, 1);
    Atomics.notify(ctl, GEN);
    try {
      if (parts[0]) this.fns[op](...parts[0]);
    } finally {
      // Join even when our share threw, so the workers are idle before anything else runs.
      let spins = 0;
      for (;;) {
        const left = Atomics.load(ctl, PENDING);
        if (left === 0) break;
        if (++spins > SPIN) {
          Atomics.wait(ctl, PENDING, left);
          spins = 0;
        }
      }
    }
    const failed = Atomics.exchange(ctl, FAILED, 0);
    if (failed) throw new Error(`KernelPool: ${name} failed on thread ${failed}`);
  }

  /**
   * Resolves once every worker has started. Calls before that are correct but wait for the slowest
   * worker to start (tens of milliseconds), which would distort the first timings.
   */
  async ready(): Promise<void> {
    while (Atomics.load(this.ctl, READY) < this.threads - 1) await new Promise((r) => setTimeout(r, 1));
  }

  /** Stop the workers (they finish the call in flight first). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.ctl[OP] = -1;
    Atomics.add(this.ctl, GEN, 1);
    Atomics.notify(this.ctl, GEN);
    for (const w of this.workers) w.stop();
  }
}
