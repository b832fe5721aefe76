/**
 * A pool of threads that run one kernel module's exports over one shared WebAssembly memory.
 *
 * Each call is a fork and a join over a list of *chunks*, each one argument list for the export.
 * The caller writes the chunks into a shared control block and wakes the workers; then every
 * thread, the caller included, claims the next unclaimed chunk until none is left, and the caller
 * returns once every chunk has run. Work is cut by the caller (`parallelKernels.ts`) into disjoint
 * output ranges, never across a reduction, so the numbers depend neither on the thread count nor on
 * which thread runs which chunk.
 *
 * Claiming, not a fixed share per thread, is what keeps a busy machine from stalling a step: a
 * worker the operating system has descheduled claims nothing, and the caller runs its chunks
 * instead of waiting for it to be scheduled again. A claim is one compare-and-swap on a 64-bit
 * word holding (call number, next chunk), so a worker that wakes late can never take a chunk of a
 * later call as one of the call it saw.
 *
 * Waking a sleeping thread costs tens of microseconds, and a training step makes hundreds of calls,
 * so both sides spin on the control block for a while before they sleep (`Atomics.wait`).
 *
 * Workers are started from source text (`KERNEL_WORKER_SOURCE`), so the same code runs from the
 * TypeScript sources, the built package or a bundle; `spawn` starts one (Node's `worker_threads` by
 * default, `nodeWorkers.ts`; a browser passes a `Worker` over a Blob URL).
 */

/** Slots of the control block (Int32). */
const GEN = 0; // bumped by the caller for each call; idle workers wait on it
const OP = 1; // index of the export the current call runs
const CHUNKS = 2; // the current call's chunk count
const DONE = 3; // chunks of the current call that have run (or thrown)
const FAILED = 4; // 1 + the first chunk that threw (a trap); the caller throws after the join
const READY = 5; // workers that have started (instantiated the module on the shared memory)
const STOP = 6; // set by close(): workers return
/** Byte offset of the claim word (BigInt64): call number << 32 | next unclaimed chunk. */
const CLAIM_BYTE = 32;
const HEADER_BYTES = 64;
/** Argument slots per chunk; slot 0 is the argument count (-1: an empty chunk). */
export const ARG_SLOTS = 20;
/** Chunks a call may have, per thread (the control block's size). */
export const MAX_CHUNKS_PER_THREAD = 4;

/** Spins before sleeping (Atomics.load round trips, about 10 ns each). */
const SPIN = 20_000;

/**
 * Claim and run chunks of the current call until none is left (the same text runs in the workers,
 * as source, and on the caller). `runChunk(op, c)` runs chunk c; a chunk that throws is recorded in
 * FAILED and counts as done. Returns the error the first failing chunk on this thread threw, if any
 * (a worker's is lost; the caller's becomes the `cause` of the error it throws).
 */
const CLAIM_SOURCE = `
function claimAndRun(ctl, claim, runChunk) {
  let err;
  for (;;) {
    const s = Atomics.load(claim, 0);
    const c = Number(s & 0xffffffffn);
    const n = Atomics.load(ctl, ${CHUNKS});
    if (c >= n) return err;
    if (Atomics.compareExchange(claim, 0, s, s + 1n) !== s) continue;
    try { runChunk(ctl[${OP}], c); }
    catch (e) { Atomics.compareExchange(ctl, ${FAILED}, 0, c + 1); if (err === undefined) err = e; }
    if (Atomics.add(ctl, ${DONE}, 1) + 1 === n) Atomics.notify(ctl, ${DONE});
  }
}
`;
const claimAndRun = new Function(`${CLAIM_SOURCE}\nreturn claimAndRun;`)() as (
  ctl: Int32Array,
  claim: BigInt64Array,
  runChunk: (op: number, c: number) => void,
) => unknown;

/** The code each worker runs: instantiate the module on the shared memory, then serve calls. */
export const KERNEL_WORKER_SOURCE = `
"use strict";
${CLAIM_SOURCE}
function serve(w) {
  const inst = new WebAssembly.Instance(w.module, { env: { memory: w.memory } });
  inst.exports.__stack_pointer.value = w.stackTop;
  const fns = w.names.map((n) => inst.exports[n]);
  const ctl = new Int32Array(w.control, 0, ${HEADER_BYTES / 4});
  const claim = new BigInt64Array(w.control, ${CLAIM_BYTE}, 1);
  const args = new Float64Array(w.control, ${HEADER_BYTES}, w.maxChunks * ${ARG_SLOTS});
  const runChunk = (op, c) => {
    const at = c * ${ARG_SLOTS}, n = args[at];
    if (n < 0) return;
    const a = [];
    for (let i = 1; i <= n; i++) a.push(args[at + i]);
    fns[op](...a);
  };
  Atomics.add(ctl, ${READY}, 1);
  for (;;) {
    const gen = Atomics.load(ctl, ${GEN});
    if (Atomics.load(ctl, ${STOP})) return;
    claimAndRun(ctl, claim, runChunk);
    let spins = 0;
    while (Atomics.load(ctl, ${GEN}) === gen) {
      if (++spins > ${SPIN}) { Atomics.wait(ctl, ${GEN}, gen); spins = 0; }
    }
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
  /** Chunks a call may have (the control block's size). */
  maxChunks: number;
  stackTop: number;
};

/** A started worker: `stop()` ends it. */
export type WorkerHandle = { stop(): void };
export type SpawnWorker = (data: KernelWorkerData) => WorkerHandle;

export class KernelPool {
  /** Chunks a call may have. */
  readonly maxChunks: number;
  private readonly ctl: Int32Array;
  private readonly claim: BigInt64Array;
  private readonly args: Float64Array;
  private readonly fns: ((...a: number[]) => unknown)[];
  private readonly opIndex: Map<string, number>;
  private readonly workers: WorkerHandle[] = [];
  private calls = 0;
  private closed = false;
  private chunks: (number[] | null)[] = [];
  private readonly runChunk = (op: number, c: number): void => {
    const p = this.chunks[c];
    if (p) this.fns[op](...p);
  };

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
    this.maxChunks = threads * MAX_CHUNKS_PER_THREAD;
    const control = new SharedArrayBuffer(HEADER_BYTES + this.maxChunks * ARG_SLOTS * 8);
    this.ctl = new Int32Array(control, 0, HEADER_BYTES / 4);
    this.claim = new BigInt64Array(control, CLAIM_BYTE, 1);
    this.args = new Float64Array(control, HEADER_BYTES, this.maxChunks * ARG_SLOTS);
    this.fns = names.map((n) => exports[n] as (...a: number[]) => unknown);
    this.opIndex = new Map(names.map((n, i) => [n, i]));
    for (let t = 1; t < threads; t++) {
      this.workers.push(
        spawn({ module, memory, control, names, tid: t, threads, maxChunks: this.maxChunks, stackTop: stackTops[t - 1] }),
      );
    }
  }

  /**
   * Run export `name` once per chunk (null: an empty chunk), on whichever threads claim them, and
   * wait for all of them. At most `maxChunks` chunks.
   */
  run(name: string, chunks: (number[] | null)[]): void {
    const op = this.opIndex.get(name);
    if (op === undefined) throw new Error(`KernelPool: no export ${name}`);
    if (this.closed) throw new Error("KernelPool: closed");
    const n = chunks.length;
    if (n > this.maxChunks) throw new Error(`KernelPool: ${name} given ${n} chunks, at most ${this.maxChunks}`);
    for (let c = 0; c < n; c++) {
      const p = chunks[c], at = c * ARG_SLOTS;
      if (!p) {
        this.args[at] = -1;
        continue;
      }
      if (p.length >= ARG_SLOTS) throw new Error(`KernelPool: ${name} takes at most ${ARG_SLOTS - 1} arguments`);
      this.args[at] = p.length;
      for (let i = 0; i < p.length; i++) this.args[at + 1 + i] = p[i];
    }
    const ctl = this.ctl;
    this.chunks = chunks;
    ctl[OP] = op;
    Atomics.store(ctl, DONE, 0);
    Atomics.store(ctl, CHUNKS, n);
    this.calls = (this.calls + 1) >>> 0;
    Atomics.store(this.claim, 0, BigInt(this.calls) << 32n);
    Atomics.add(ctl, GEN, 1);
    Atomics.notify(ctl, GEN);
    const own = claimAndRun(ctl, this.claim, this.runChunk);
    // Join even when a chunk of ours threw, so the workers are idle before anything else runs.
    let spins = 0;
    for (;;) {
      const done = Atomics.load(ctl, DONE);
      if (done === n) break;
      if (++spins > SPIN) {
        Atomics.wait(ctl, DONE, done);
        spins = 0;
      }
    }
    this.chunks = [];
    const failed = Atomics.exchange(ctl, FAILED, 0);
    if (failed) throw new Error(`KernelPool: ${name} failed on chunk ${failed - 1}`, { cause: own });
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
    Atomics.store(this.ctl, STOP, 1);
    Atomics.add(this.ctl, GEN, 1);
    Atomics.notify(this.ctl, GEN);
    for (const w of this.workers) w.stop();
  }
}
