/**
 * Where a native step's time goes (`src/steps/nativeImageStep.ts`, `src/steps/nativeLmStep.ts`):
 * every call into the kernel module is timed, matrix products grouped by kind with their FLOP rate,
 * and the rest of the step (routing, random draws, bookkeeping in JavaScript) is what the kernels do
 * not account for. Last, the step's matrix products (the LM head's included) at this machine's SIMD
 * ceiling, measured in the same process: no step on these kernels can take less.
 *
 *   npm run profile:native -- [--model moe-uniform] [--steps 30] [--warmup 10] [--threads 1]
 *   npm run profile:native -- --task lm --scale tiny [--attention] [--steps 3] [--warmup 1] [--threads 2]
 *
 * Models as in `npm run bench`: dense, moe-<schedule>, moe-<router>. Images: random batches of
 * MNIST's shape, batch 256. Language models: the scale preset's batch of token ids over GPT-2's
 * 50,257-token vocabulary. The timers add a little overhead per call.
 */
import { parseArgs } from "node:util";
import { reportMachineLoad } from "../machine.js";
import { modelConfig } from "../models.js";

const { values } = parseArgs({
  options: {
    model: { type: "string", default: "moe-uniform" }, steps: { type: "string", default: "30" }, warmup: { type: "string", default: "10" }, threads: { type: "string", default: "1" },
    task: { type: "string", default: "image" }, scale: { type: "string", default: "tiny" }, attention: { type: "boolean", default: false },
  },
});

const { initEngine } = await import("../../src/engine/engine.js");
const { tree } = await import("../../src/engine/jax.js");
const { seedKey } = await import("../../src/engine/seedKey.js");
const { initImageModel } = await import("../../src/models/imageModel.js");
const { NativeImageStep } = await import("../../src/steps/nativeImageStep.js");
const { adamw } = await import("../../src/steps/adamw.js");
const { resolveConfig } = await import("../../src/train/config.js");
const { modelConfigFor } = await import("../../src/train/imageTask.js");

reportMachineLoad();
await initEngine();
const config = resolveConfig(modelConfig(values.model!, "auto"));
const hyper = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 };
const { spawnNodeWorker } = await import("../../src/kernels/nodeWorkers.js");
const threads = { threads: Number(values.threads), spawn: spawnNodeWorker };
const lm = values.task === "lm";
/** The step under test and one batch for it. */
type Profiled = { step: (key: number) => Promise<unknown>; what: string };
let profiled: Profiled;
let native: unknown;
if (lm) {
  const { lmModelConfigFor } = await import("../../src/train/lmTask.js");
  const { initLmModel } = await import("../../src/models/lmModel.js");
  const { NativeLmStep } = await import("../../src/steps/nativeLmStep.js");
  const lmConfig = resolveConfig({ task: "lm", scale: values.scale, ...modelConfig(values.model!, "auto"), attention: values.attention });
  const cfg = lmModelConfigFor(lmConfig, 50257);
  const t = lmConfig.batchSize * lmConfig.context;
  const params = initLmModel(seedKey(0), cfg);
  const step = await NativeLmStep.create(cfg, lmConfig.batchSize, hyper, 1, params, adamw(hyper).init(tree.ref(params)), threads);
  tree.dispose(params);
  const ids = (seed: number) => Int32Array.from({ length: t }, (_, i) => (i * 7919 + seed * 104729) % 50257);
  native = step;
  profiled = { step: (key) => step.step(ids(key), ids(key + 1), seedKey(key), 1e-3), what: `LM ${values.scale}${values.attention ? " with attention" : ""}, ${t} tokens` };
} else {
  const mc = modelConfigFor(config, 784, 10);
  const params = initImageModel(seedKey(0), mc);
  const step = await NativeImageStep.create(mc, 256, hyper, 1, params, adamw(hyper).init(tree.ref(params)), threads);
  tree.dispose(params);
  const x = Float32Array.from({ length: 256 * 784 }, (_, i) => Math.sin(i * 12.9898) % 1);
  const y = Int32Array.from({ length: 256 }, (_, i) => (i * 7) % 10);
  native = step;
  profiled = { step: (key) => step.step(x, y, seedKey(key), 1e-3), what: "batch 256" };
}

type Entry = { ms: number; flop: number; calls: number };
/** Vocabulary rows of units [u0, u1) of `per` rows each (lmHead.c's blocks, or its groups of blocks). */
const headRows = (V: number, u0: number, u1: number, per: number) => Math.min(u1 * per, V) - u0 * per;
const entries = new Map<string, Entry>();
const add = (key: string, ms: number, flop: number) => {
  const e = entries.get(key) ?? { ms: 0, flop: 0, calls: 0 };
  e.ms += ms;
  e.flop += flop;
  e.calls += 1;
  entries.set(key, e);
};
// Wrap every export of the step's kernel instance (a private field; this is a benchmark).
const holder = native as unknown as { k: Record<string, unknown> };
const raw = holder.k;
const timed: Record<string, unknown> = { memory: raw.memory, __heap_base: raw.__heap_base };
const blockRows = (raw.head_block_rows as () => number)(), groupRows = blockRows * (raw.head_group_blocks as () => number)();
for (const [fn, value] of Object.entries(raw)) {
  if (typeof value !== "function") continue;
  const f = value as (...a: number[]) => number;
  timed[fn] = (...a: number[]) => {
    const t = performance.now();
    const r = f(...a);
    const ms = performance.now() - t;
    if (fn === "matmul" || fn === "matmul_t") {
      const [rows, cols, depth, , ai] = a;
      const kind = ai === 1 ? "weight gradients (Aᵀ·B)" : fn === "matmul_t" ? "input gradients (A·Bᵀ)" : depth > 256 ? `input layer (A·B, depth ${depth})` : "forward (A·B)";
      add(`matrix products: ${kind}`, ms, 2 * rows * cols * depth);
    } else if (fn === "head_stats") {
      const [, V, d, , , C, , , , , b0, b1] = a; // one product: z = E_b hᵀ for the vocabulary rows of blocks b0..b1
      add(fn, ms, 2 * headRows(V, b0, b1, blockRows) * C * d);
    } else if (fn === "head_grads") {
      const [, V, d, , , C, , , , , , , , , , g0, g1] = a; // two: ∂E_b = G h and ∂h += Gᵀ E_b for the rows of groups g0..g1
      add(fn, ms, 4 * headRows(V, g0, g1, groupRows) * C * d);
    } else add(fn, ms, 0);
    return r;
  };
}
holder.k = timed;

for (let i = 0; i < Number(values.warmup); i++) await profiled.step(i);
entries.clear();
const steps = Number(values.steps);
const t0 = performance.now();
for (let i = 0; i < steps; i++) await profiled.step(1000 + i);
const total = (performance.now() - t0) / steps;

// The ceiling: simd.h's register tile over an L1 panel, as `npm run bench:peak` measures it.
const { tileRate } = await import("../tileRate.js");
const ceiling = tileRate();

const rows = [...entries].sort((a, b) => b[1].ms - a[1].ms);
const flopPerStep = rows.reduce((s, [, e]) => s + e.flop, 0) / steps;
const floorMs = flopPerStep / (ceiling * Number(values.threads)) / 1e6;
const inKernels = rows.reduce((s, [, e]) => s + e.ms, 0) / steps;
const out = [
  `native step, ${values.model}, ${profiled.what}, ${values.threads} thread(s), mean of ${steps} steps after ${values.warmup}: ${total.toFixed(2)} ms/step`,
  "",
  "| part | ms/step | share | calls/step | GFLOP/s |",
  "|---|---|---|---|---|",
  ...rows.map(([k, e]) => `| ${k} | ${(e.ms / steps).toFixed(2)} | ${((100 * e.ms) / steps / total).toFixed(1)}% | ${(e.calls / steps).toFixed(0)} | ${e.flop ? (e.flop / e.ms / 1e6).toFixed(1) : "-"} |`),
  `| JavaScript (routing, random draws, the rest) | ${(total - inKernels).toFixed(2)} | ${((100 * (total - inKernels)) / total).toFixed(1)}% | - | - |`,
  "",
  `matrix products (the head's included, attention's core not): ${(flopPerStep / 1e9).toFixed(3)} GFLOP per step. At the register tile's ${ceiling.toFixed(1)} GFLOP/s per core ` +
    `(measured now, as npm run bench:peak) on ${values.threads} thread(s), they alone take at least ${floorMs.toFixed(2)} ms: ${((100 * floorMs) / total).toFixed(0)}% of this step.`,
];
process.stdout.write(out.join("\n") + "\n");
