/**
 * Where one whole training step of a bench model spends its time: jax-js's profiler records every
 * kernel and CPU routine of the jitted step (forward, backward, clipping, AdamW); this groups them
 * into matmul-like reductions, small reductions, elementwise/copy kernels and JavaScript routines,
 * and prints the top kernels beside the step's wall time with and without the profiler.
 *
 *   DYNAMOE_THREADS=1 npm run profile:step -- [--model dense|moe-uniform|moe-descending|moe-switch] [--top 25] [--reps 10]
 *
 * Batch 256 of MNIST's shape (random pixels), the spec's models as in `npm run bench`.
 */
import { parseArgs } from "node:util";
import { initEngine } from "../../src/engine/engine.js";
import { numpy as np, profiler, random } from "../../src/engine/jax.js";
import { initImageModel } from "../../src/models/imageModel.js";
import { adamw } from "../../src/steps/adamw.js";
import { resolveConfig } from "../../src/train/config.js";
import { makeTrainStep } from "../../src/steps/imageStep.js";
import { modelConfigFor } from "../../src/train/train.js";
import { modelConfig } from "../models.js";

const { values } = parseArgs({
  options: { model: { type: "string", default: "dense" }, top: { type: "string", default: "25" }, reps: { type: "string", default: "10" } },
});
const model = values.model!;
const conf = modelConfig(model, "auto");
await initEngine();
const mc = modelConfigFor(resolveConfig(conf), 784, 10);
let params = initImageModel(random.key(0), mc);
const opt = adamw({});
let state = opt.init(params);
const step = makeTrainStep(mc, opt, 1.0);
const B = 256;
const x = Float32Array.from({ length: B * 784 }, (_, i) => Math.sin(i));
const y = Int32Array.from({ length: B }, (_, i) => i % 10);
let key = random.key(1);
async function run(): Promise<void> {
  const ks = random.split(key, 2);
  key = ks.ref.slice(0);
  const [p, st, packed] = step(params, state, np.array(x).reshape([B, 784]), np.array(y, { dtype: np.int32 }), ks.slice(1), np.array(1e-3));
  params = p;
  state = st;
  await packed.data();
}
for (let i = 0; i < 5; i++) await run(); // compile and warm up
const reps = Number(values.reps);
let t0 = performance.now();
for (let i = 0; i < reps; i++) await run();
const plainMs = (performance.now() - t0) / reps;
performance.clearMeasures();
t0 = performance.now();
profiler.startTrace();
for (let i = 0; i < reps; i++) await run();
profiler.stopTrace();
const profiledMs = (performance.now() - t0) / reps;

type Entry = { ms: number; n: number };
const byKernel = new Map<string, Entry>();
const byGroup = new Map<string, Entry>();
const add = (m: Map<string, Entry>, k: string, ms: number) => {
  const a = m.get(k) ?? { ms: 0, n: 0 };
  a.ms += ms;
  a.n += 1;
  m.set(k, a);
};
for (const e of performance.getEntriesByType("measure")) {
  const props = new Map<string, string>((e as PerformanceMeasure & { detail?: { devtools?: { properties?: [string, string][] } } }).detail?.devtools?.properties ?? []);
  const isKernel = e.name.startsWith("Kernel");
  const reduction = props.get("reduction") ?? "";
  const name = isKernel ? `${e.name} ${reduction} ${(props.get("exp") ?? "").slice(0, 90)}` : `${e.name} ${props.get("inputShapes")} -> ${props.get("outputShapes")}`;
  // A matmul is a reduction of width ≥ 64 producing ≥ 64 outputs; "Kernel[32.8K] Add:128" is 32,768 outputs, 128 terms each.
  const outputs = Number((/^Kernel\[([\d.]+)(K?)\]/.exec(e.name) ?? [])[1] ?? 0) * (/^Kernel\[[\d.]+K\]/.test(e.name) ? 1000 : 1);
  const width = Number((/:(\d+)/.exec(reduction) ?? [])[1] ?? 0);
  const group = !isKernel ? "JavaScript routines" : !reduction ? "elementwise and copies" : width >= 64 && outputs >= 64 ? "matmuls" : "small reductions";
  add(byKernel, name, e.duration);
  add(byGroup, group, e.duration);
}
const total = [...byGroup.values()].reduce((s, a) => s + a.ms, 0) / reps;
console.log(`${model}, batch ${B}, one thread: ${plainMs.toFixed(1)} ms/step (${profiledMs.toFixed(1)} with the profiler); traced ${total.toFixed(1)} ms in ${[...byGroup.values()].reduce((s, a) => s + a.n, 0) / reps} launches`);
console.log("\n| group | ms/step | share of traced | launches/step |\n|---|---|---|---|");
for (const [g, a] of [...byGroup.entries()].sort((p, q) => q[1].ms - p[1].ms)) {
  console.log(`| ${g} | ${(a.ms / reps).toFixed(2)} | ${((100 * a.ms) / reps / total).toFixed(0)}% | ${a.n / reps} |`);
}
console.log(`\ntop ${values.top} kernels (ms/step, launches/step):`);
for (const [name, a] of [...byKernel.entries()].sort((p, q) => q[1].ms - p[1].ms).slice(0, Number(values.top))) {
  console.log(`${(a.ms / reps).toFixed(2).padStart(7)} ms  x${a.n / reps}  ${name}`);
}
