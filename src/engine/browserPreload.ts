/**
 * The browser's twin of `preload.ts`, which the board's bundle (`cli/playgroundBundle.ts`) puts in
 * its place: the same exports, with no Node module. A page has `navigator`, `Float16Array` (or
 * jax-js's fallback) and relaxed SIMD already; what it must decide before jax-js loads is jax-js's
 * thread count. One, as in Node (`preload.ts` says why): jax-js starts its worker pool only where
 * `Worker` exists, so this takes `Worker` off the global scope and keeps it as `browserWorker` for
 * our own kernel pool.
 */

/** The page's `Worker` constructor, taken off the global scope before jax-js loads (undefined where there is none). */
export const browserWorker: typeof Worker | undefined = (globalThis as { Worker?: typeof Worker }).Worker;
delete (globalThis as { Worker?: typeof Worker }).Worker;

/** jax-js's thread count in a page: 1. */
export function threadsFromEnv(): number {
  return 1;
}

/** Threads of the native engine in a page: every core where the page may share memory across workers, else 1. */
export function nativeThreads(): number {
  return typeof SharedArrayBuffer !== "undefined" && browserWorker ? navigator.hardwareConcurrency || 1 : 1;
}

/** Browsers run relaxed SIMD without a flag. */
export function enableRelaxedSimd(): void {}

export const preparedThreads = 1;
