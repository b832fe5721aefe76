// Where the resident memory of a long training run goes (docs/performance.md, "Memory over 10,000
// steps"): trains the spec's dense MNIST model on one fixed batch and, every `--every` steps after a
// forced garbage collection, prints RSS, the V8 heap, `external`, and the size of jax-js's wasm heap
// (read through a wrapped `WebAssembly.Memory`, which jax-js keeps private).
// Run: DYNAMOE_THREADS=1 node --expose-gc --import tsx bench/repro/memoryGrowth.ts [--steps 10000] [--every 1000]
import { parseArgs } from "node:util";

const { values } = parseArgs({ options: { steps: { type: "string", default: "10000" }, every: { type: "string", default: "1000" } } });
const memories: WebAssembly.Memory[] = [];
const Memory = WebAssembly.Memory;
const Wrapped = function (desc: WebAssembly.MemoryDescriptor) {
  const m = new Memory(desc);
  memories.push(m);
  return m;
} as unknown as typeof WebAssembly.Memory;
Wrapped.prototype = Memory.prototype;
(WebAssembly as { Memory: typeof WebAssembly.Memory }).Memory = Wrapped; // before jax-js loads

const { initEngine } = await import("../../src/engine/engine.js");
const { numpy: np, random } = await import("../../src/engine/jax.js");
const { resolveConfig } = await import("../../src/train/config.js");
const { adamw } = await import("../../src/train/adamw.js");
const { initImageModel } = await import("../../src/models/imageModel.js");
const { makeTrainStep } = await import("../../src/train/trainStep.js");
const { modelConfigFor } = await import("../../src/train/train.js");
await initEngine();
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) process.stderr.write("warning: run with node --expose-gc, or the heap figures include garbage\n");
const mc = modelConfigFor(resolveConfig({ model: "dense" }), 784, 10);
const opt = adamw();
let params = initImageModel(random.key(0), mc);
let state = opt.init(params);
const step = makeTrainStep(mc, opt, 1.0);
const B = 256;
const x = Float32Array.from({ length: B * 784 }, (_, i) => Math.sin(i)); // [B, 784]
const y = Int32Array.from({ length: B }, (_, i) => (i * 7) % 10); // [B]
const mb = (v: number) => (v / 2 ** 20).toFixed(0);
for (let i = 1; i <= Number(values.steps); i++) {
  const [p, st, stats] = step(params, state, np.array(x).reshape([B, 784]), np.array(y, { dtype: np.int32 }), random.key(i), np.array(1e-3));
  [params, state] = [p, st];
  await stats.data();
  if (i % Number(values.every) === 0) {
    gc?.();
    const m = process.memoryUsage();
    console.log(`step ${i}: rss ${mb(m.rss)} MB, V8 heap ${mb(m.heapUsed)} MB, external ${mb(m.external)} MB, wasm heap ${memories.map((w) => mb(w.buffer.byteLength)).join(", ")} MB`);
  }
}
