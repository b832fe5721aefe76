/**
 * Side-effect module: prepares Node's globals for jax-js *before* jax-js loads.
 *
 * jax-js builds its wasm backend, and decides whether to start a worker pool and how large, when its
 * module is first evaluated. So the globals it looks for (`Worker`, `navigator.hardwareConcurrency`,
 * `Float16Array`) must exist by then. `src/engine/jax.ts` imports this file before re-exporting
 * jax-js, and every dynamoe module imports jax-js through that file.
 *
 * Thread count of jax-js: the `DYNAMOE_THREADS` environment variable, else 1. One thread is the default
 * because, for the spec's models (d = 128, many small kernels), jax-js's worker pool costs more in
 * message round trips than it gains: `npm run bench` measured a 2-thread step at 1.3–2.3× the time
 * of a 1-thread step on our 2-core machine (docs/performance.md).
 * It cannot change once jax-js has loaded. The native engine's kernels run on their own pool
 * (`nativeThreads`), every core by default: its fork and join cost about a microsecond.
 */
import { availableParallelism } from "node:os";
import { setFlagsFromString } from "node:v8";
import { NodeWebWorker } from "./workerAdapter.js";

/** The thread count from `DYNAMOE_THREADS` (default 1). */
export function threadsFromEnv(): number {
  const raw = process.env.DYNAMOE_THREADS;
  const n = raw === undefined || raw === "" ? 1 : Number(raw);
  if (!Number.isInteger(n) || n < 1) {
    throw new Error(`DYNAMOE_THREADS must be a positive integer, got "${raw}"`);
  }
  return n;
}

/** Threads of the native engine: `DYNAMOE_THREADS` (the CLI's `--threads`) when set, else every core. */
export function nativeThreads(): number {
  const raw = process.env.DYNAMOE_THREADS;
  return raw === undefined || raw === "" ? availableParallelism() : threadsFromEnv();
}

function install(threads: number): void {
  const g = globalThis as Record<string, unknown>;
  if (typeof g.Float16Array === "undefined") {
    // Node 20 lacks Float16Array, which jax-js tests with `instanceof`: a stand-in that matches nothing.
    g.Float16Array = class Float16ArrayUnavailable {
      static [Symbol.hasInstance](): boolean {
        return false;
      }
    };
  }
  // Node 20 has no navigator; Node 21+ has a read-only one. Either way, define our own value.
  Object.defineProperty(g, "navigator", {
    value: { ...((g.navigator as object | undefined) ?? {}), hardwareConcurrency: threads },
    configurable: true,
    writable: true,
  });
  if (threads > 1) g.Worker = NodeWebWorker;
  else delete g.Worker; // no Worker: jax-js runs every kernel on the calling thread
}

/**
 * Relaxed SIMD for every WebAssembly module of the process, unless `DYNAMOE_SIMD=plain`. Node 20 has
 * it behind a V8 flag. It must be decided before jax-js loads: jax-js probes for relaxed
 * multiply-add and uses it in its own kernels, so a process that turned it on later would compute
 * the jax engine's numbers differently from one that did not (our kernels pick their build by the
 * same setting, `kernels/mlpKernel.ts`).
 */
export function enableRelaxedSimd(): void {
  if (process.env.DYNAMOE_SIMD === "plain") return;
  try {
    setFlagsFromString("--experimental-wasm-relaxed-simd");
  } catch {
    // not a V8 that knows the flag: relaxed SIMD is on already, or not available at all
  }
}

/** The thread count jax-js was prepared with. */
export const preparedThreads = threadsFromEnv();
enableRelaxedSimd();
install(preparedThreads);
