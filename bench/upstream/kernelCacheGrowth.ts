// Isolates the per-step kernel compile behind the RSS growth of long runs: jax-js bakes scalar
// constants into its wasm kernels (an array made from one value, e.g. `np.array(lr)` or the seed in
// `random.key(seed)`, is a lazy `AluExp.const`), so every distinct value realised on the device compiles
// a new `WebAssembly.Module`, which jax-js keeps forever in its unbounded `compiledProgramCache`.
// Each case realises N arrays with distinct values and prints RSS, RssAnon, /proc/self/maps regions and
// the number of WebAssembly.compile/Module calls per 1,000 values.
// Run: DYNAMOE_THREADS=1 node --expose-gc --import tsx bench/upstream/kernelCacheGrowth.ts [--n 3000] [--case key|lr|lr-buffer|key-buffer]
import { parseArgs } from "node:util";
import { countWasmCompiles } from "./countCompiles.js";
import { readFileSync } from "node:fs";
import type { numpy as NP } from "../../src/engine/jax.js";

const { values } = parseArgs({ options: { n: { type: "string", default: "3000" }, case: { type: "string", default: "key" } } });
const compileCount = countWasmCompiles();

const { initEngine } = await import("../../src/engine/engine.js");
const { numpy: np, random, jit } = await import("../../src/engine/jax.js");
await initEngine();
const gc = (globalThis as { gc?: () => void }).gc!;
const rssAnon = () => Number(/RssAnon:\s+(\d+)/.exec(readFileSync("/proc/self/status", "utf8"))![1]) / 1024;
const maps = () => readFileSync("/proc/self/maps", "utf8").split("\n").length - 1;
const useLr = jit((lr: NP.Array) => lr.mul(2)); // stands in for the training step's use of lr
/** A `[]` float32 array holding `v` in a device buffer, not as a kernel constant. */
const bufferScalar = (v: number) => np.array(Float32Array.of(v, 0)).slice(0);
/** `random.key(seed)` without a per-seed kernel: the [0, seed] key data uploaded as a buffer. */
const { seedKey: bufferKey } = await import("../../src/engine/seedKey.js");
const cases: Record<string, (i: number) => Promise<unknown>> = {
  key: (i) => random.key(i).data(),
  "key-buffer": (i) => bufferKey(i).data(),
  lr: (i) => useLr(np.array(1e-3 * (1 + i / 1e5))).data(),
  "lr-buffer": (i) => useLr(bufferScalar(1e-3 * (1 + i / 1e5))).data(),
};
const run = cases[values.case!];
if (!run) throw new Error(`--case must be one of ${Object.keys(cases).join(", ")}`);
const N = Number(values.n);
const f = (v: number) => v.toFixed(1);
let base: { rss: number; anon: number; maps: number; c: number } | null = null;
for (let i = 1; i <= N; i++) {
  await run(i);
  if (i === 100 || i === N) {
    gc();
    const s = { rss: process.memoryUsage().rss / 2 ** 20, anon: rssAnon(), maps: maps(), c: compileCount() };
    console.log(`${values.case} i=${i}: rss ${f(s.rss)} MB, RssAnon ${f(s.anon)} MB, maps ${s.maps}, compiles ${s.c}`);
    if (base && i === N) {
      const k = 1000 / (N - 100);
      console.log(`${values.case}: per 1,000 values: rss +${f((s.rss - base.rss) * k)} MB, RssAnon +${f((s.anon - base.anon) * k)} MB, maps +${f((s.maps - base.maps) * k)}, compiles +${f((s.c - base.c) * k)}`);
    }
    base ??= s;
  }
}
