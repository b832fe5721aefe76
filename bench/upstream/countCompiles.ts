/**
 * Counts WebAssembly compilations (`WebAssembly.compile` and `new WebAssembly.Module`) from now on,
 * for the kernel-cache repro scripts. Install before jax-js loads its backend.
 * @returns a function giving the count so far.
 */
export function countWasmCompiles(): () => number {
  let compiles = 0;
  const W = WebAssembly as unknown as Record<string, any>;
  const origCompile = W.compile;
  W.compile = (...a: unknown[]) => (compiles++, origCompile.apply(WebAssembly, a));
  const OrigModule = W.Module;
  W.Module = function (...a: unknown[]) { compiles++; return new OrigModule(...a); };
  W.Module.prototype = OrigModule.prototype;
  return () => compiles;
}
