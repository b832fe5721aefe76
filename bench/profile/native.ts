/**
 * Where the native image step's time goes (`src/steps/nativeImageStep.ts`): every call into the kernel
 * module is timed, matrix products grouped by kind with their FLOP rate, and the rest of the step
 * (routing, random draws, bookkeeping in JavaScript) is what the kernels do not account for.
 *
 *   npm run profile:native -- [--model moe-uniform] [--steps 30] [--warmup 10] [--threads 1]
 *
 * Models as in `npm run bench`: dense, moe-<schedule>, moe-<router>. Random batches of MNIST's
 * shape, batch 256. The timers add a little overhead per call (about 300 calls a step).
 */
import { parseArgs } from "node:util";
import { reportMachineLoad } from "../machine.js";

const { values } = parseArgs({
  options: { model: { type: "string", default: "moe-uniform" }, steps: { type: "string", default: "30" }, warmup: { type: "string", default: "10" }, threads: { type: "string", default: "1" } },
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
const name = values.model!.replace(/^moe-/, "");
const ROUTERS = ["topk", "switch", "threshold"];
const config = resolveConfig(
  values.model === "dense" ? { model: "dense" } : ROUTERS.includes(name) ? { model: "moe", router: { kind: name } } : { model: "moe", schedule: name },
);
const mc = modelConfigFor(config, 784, 10);
const hyper = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 };
const params = initImageModel(seedKey(0), mc);
const { spawnNodeWorker } = await import("../../src/kernels/nodeWorkers.js");
const native = await NativeImageStep.create(mc, 256, hyper, 1, params, adamw(hyper).init(tree.ref(params)), { threads: Number(values.threads), spawn: spawnNodeWorker });
tree.dispose(params);

type Entry = { ms: number; flop: number; calls: number };
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
    } else add(fn, ms, 0);
    return r;
  };
}
holder.k = timed;

const x = Float32Array.from({ length: 256 * 784 }, (_, i) => Math.sin(i * 12.9898) % 1);
const y = Int32Array.from({ length: 256 }, (_, i) => (i * 7) % 10);
for (let i = 0; i < Number(values.warmup); i++) await native.step(x, y, seedKey(i), 1e-3);
entries.clear();
const steps = Number(values.steps);
const t0 = performance.now();
for (let i = 0; i < steps; i++) await native.step(x, y, seedKey(1000 + i), 1e-3);
const total = (performance.now() - t0) / steps;

const rows = [...entries].sort((a, b) => b[1].ms - a[1].ms);
const inKernels = rows.reduce((s, [, e]) => s + e.ms, 0) / steps;
const out = [
  `native step, ${values.model}, batch 256, mean of ${steps} steps after ${values.warmup}: ${total.toFixed(2)} ms/step`,
  "",
  "| part | ms/step | share | calls/step | GFLOP/s |",
  "|---|---|---|---|---|",
  ...rows.map(([k, e]) => `| ${k} | ${(e.ms / steps).toFixed(2)} | ${((100 * e.ms) / steps / total).toFixed(1)}% | ${(e.calls / steps).toFixed(0)} | ${e.flop ? (e.flop / e.ms / 1e6).toFixed(1) : "-"} |`),
  `| JavaScript (routing, random draws, the rest) | ${(total - inKernels).toFixed(2)} | ${((100 * (total - inKernels)) / total).toFixed(1)}% | - | - |`,
];
process.stdout.write(out.join("\n") + "\n");
