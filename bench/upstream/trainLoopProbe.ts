// Memory of the real training loop (`train()` from src/train/train.ts: per-step key split, cosine lr,
// per-epoch eval) on a synthetic MNIST-shaped dataset, with WebAssembly compile counts: checks whether
// the loop itself compiles kernels per step (the cause of the memory bench's former RSS growth, see
// kernelCacheGrowth.ts) and how RSS moves.
// Run: DYNAMOE_THREADS=1 node --expose-gc --import tsx bench/upstream/trainLoopProbe.ts [--steps 3000] [--every 500] [--model dense]
import { parseArgs } from "node:util";
import { countWasmCompiles } from "./countCompiles.js";
import { readFileSync } from "node:fs";

const { values } = parseArgs({ options: { steps: { type: "string", default: "3000" }, every: { type: "string", default: "500" }, model: { type: "string", default: "dense" } } });
const compileCount = countWasmCompiles();

const { initEngine } = await import("../../src/engine/engine.js");
const { train } = await import("../../src/train/train.js");
await initEngine();
const gc = (globalThis as { gc?: () => void }).gc;
const split = (n: number, seed: number) => ({
  x: Float32Array.from({ length: n * 784 }, (_, i) => Math.sin(i * 0.37 + seed)),
  y: Uint8Array.from({ length: n }, (_, i) => (i * 7 + seed) % 10),
  n,
});
const dataset = { name: "mnist" as const, inputDim: 784, numClasses: 10, classNames: [..."0123456789"], source: "synthetic", train: split(256 * 200, 0), test: split(1000, 1) };
const every = Number(values.every);
const anon = () => Number(/RssAnon:\s+(\d+)/.exec(readFileSync("/proc/self/status", "utf8"))![1]) / 1024;
const maps = () => readFileSync("/proc/self/maps", "utf8").split("\n").length - 1;
const pts: { step: number; rss: number }[] = [];
let lastC = 0;
const t0 = performance.now();
await train(
  { model: values.model as "dense" | "moe", epochs: 1000, maxSteps: Number(values.steps), logEvery: 100 },
  {
    dataset,
    onEvent: (e) => {
      if (e.type !== "step" || (e.step % every !== 0 && e.step !== 1)) return;
      gc?.();
      const rss = process.memoryUsage().rss / 2 ** 20;
      if (e.step > 1) pts.push({ step: e.step, rss });
      console.log(`step ${e.step} (${((performance.now() - t0) / 1000).toFixed(0)}s): rss ${rss.toFixed(1)} RssAnon ${anon().toFixed(1)} heap ${(process.memoryUsage().heapUsed / 2 ** 20).toFixed(1)} maps ${maps()} compiles +${compileCount() - lastC} (lr ${e.lr.toExponential(3)})`);
      lastC = compileCount();
    },
  },
);
const n = pts.length, mx = pts.reduce((a, p) => a + p.step, 0) / n, my = pts.reduce((a, p) => a + p.rss, 0) / n;
const s = (pts.reduce((a, p) => a + (p.step - mx) * (p.rss - my), 0) / pts.reduce((a, p) => a + (p.step - mx) ** 2, 0)) * 1000;
console.log(`slope (least squares, steps ${pts[0]?.step}..${pts[n - 1]?.step}): rss ${s.toFixed(1)} MB/1k steps; compiles total ${compileCount()}`);
