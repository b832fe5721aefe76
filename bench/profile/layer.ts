/**
 * Where one MoE layer's training step spends its time, kernel by kernel: jax-js's profiler
 * (`profiler.startTrace`) records every kernel and CPU routine as a `performance.measure`; this sums
 * them by kernel and prints the top entries beside the step's wall time.
 *
 *   DYNAMOE_THREADS=1 npm run profile:layer -- [--k 1] [--layer '{"dispatch":"gather","capacity":1.25}'] [--top 20]
 *
 * The layer is the bench's: T = 256 tokens, d = h = 128, 8 experts, top-k routing with k = --k, one
 * jit(valueAndGrad) of forward and backward. `--layer` is JSON merged into the `MoeLayerConfig`.
 */
import { parseArgs } from "node:util";
import { initEngine } from "../../src/engine/engine.js";
import { profiler } from "../../src/engine/jax.js";
import { moeLayerPlan, type MoeLayerConfig } from "../../src/moe/moeLayer.js";
import { makeLayerStep } from "../speed/layerStep.js";
import { DEFAULT_ROUTER } from "../../src/moe/routers/registry.js";

const { values } = parseArgs({
  options: { k: { type: "string", default: "1" }, layer: { type: "string", default: "{}" }, top: { type: "string", default: "20" }, reps: { type: "string", default: "5" } },
});
await initEngine();
const [T, D, H, N] = [256, 128, 128, 8];
const cfg: MoeLayerConfig = { d: D, h: H, experts: N, router: { ...DEFAULT_ROUTER, kind: "topk", k: Number(values.k) }, ...(JSON.parse(values.layer!) as object) };
const step = makeLayerStep(cfg, T);
const run = (i: number) => step.run(i);
for (let i = 0; i < 5; i++) await run(i); // compile and warm up
performance.clearMeasures();
const reps = Number(values.reps);
const t0 = performance.now();
profiler.startTrace();
for (let i = 0; i < reps; i++) await run(i);
profiler.stopTrace();
const wall = (performance.now() - t0) / reps;

type Entry = { ms: number; n: number };
const byKernel = new Map<string, Entry>();
let traced = 0;
let count = 0;
for (const e of performance.getEntriesByType("measure")) {
  const props = new Map<string, string>((e as PerformanceMeasure & { detail?: { devtools?: { properties?: [string, string][] } } }).detail?.devtools?.properties ?? []);
  const name = e.name.startsWith("Kernel")
    ? `${e.name} ${props.get("reduction") ?? ""} ${(props.get("exp") ?? "").slice(0, 80)}`
    : `${e.name} ${props.get("inputShapes")} -> ${props.get("outputShapes")}`;
  const a = byKernel.get(name) ?? { ms: 0, n: 0 };
  a.ms += e.duration;
  a.n += 1;
  byKernel.set(name, a);
  traced += e.duration;
  count += 1;
}
const plan = moeLayerPlan(cfg, T, true);
console.log(`k=${values.k} plan ${JSON.stringify(plan)}`);
console.log(`wall ${wall.toFixed(1)} ms/step; kernels and routines ${(traced / reps).toFixed(1)} ms/step in ${count / reps} launches`);
for (const [name, a] of [...byKernel.entries()].sort((p, q) => q[1].ms - p[1].ms).slice(0, Number(values.top))) {
  console.log(`${(a.ms / reps).toFixed(2).padStart(7)} ms  x${a.n / reps}  ${name}`);
}
step.dispose();
