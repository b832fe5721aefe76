/**
 * `npm run bench:peak`: this machine's WebAssembly SIMD ceiling per core, and the matrix products at
 * the training steps' shapes as a share of it.
 *
 *   npm run bench:peak -- [--threads 1,2] [--json FILE]
 *
 * - `simd_peak` (mlp.c): 12 independent multiply-then-add chains in registers: the most f32x4
 *   multiply and add can do here (wasm SIMD has no fused multiply-add without relaxed SIMD).
 * - `tile_peak`: simd.h's 4 × 8 register tile over an L1-resident panel: our matmuls' inner loop.
 * - each shape through `matmul` / `matmul_t` (packing, edges and all), on 1 thread and on the pool.
 * Every figure is the median of 7 timings; GFLOP/s counts a multiply-add as 2.
 */
import os from "node:os";
import { parseArgs } from "node:util";
import { reportMachineLoad, writeBenchJson } from "../machine.js";
import { Arena, mlpInstance } from "../../src/kernels/mlpKernel.js";
import { spawnNodeWorker } from "../../src/kernels/nodeWorkers.js";
import { tileRate } from "../tileRate.js";
import { mlpPool, parallelKernels } from "../../src/kernels/parallelKernels.js";

const { values } = parseArgs({ options: { threads: { type: "string", default: "1,2" }, json: { type: "string" } } });
const threadList = values.threads!.split(",").map(Number);
reportMachineLoad();

type Peak = { simd_peak(n: number, x: number): number };
const median = (f: () => void, flop: number) => {
  const rates: number[] = [];
  for (let r = 0; r < 7; r++) {
    const t0 = performance.now();
    f();
    rates.push(flop / (performance.now() - t0) / 1e6);
  }
  return rates.sort((a, b) => a - b)[3];
};

/** [name, rows, cols, depth, left operand transposed (strides 1, rows), right operand as [cols, depth] (matmul_t)] */
const SHAPES: [string, number, number, number, boolean, boolean][] = [
  ["image input layer x·W (256×784·784×128)", 256, 128, 784, false, false],
  ["image block n·W (256×128·128×128)", 256, 128, 128, false, false],
  ["image weight gradient Aᵀ·B (128×256·256×128)", 128, 128, 256, true, false],
  ["image input gradient A·Bᵀ (256×128·(128×128)ᵀ)", 256, 128, 128, false, true],
  ["LM head logits E_b·hᵀ, d 64 (256×64·(512×64)ᵀ)", 256, 512, 64, false, true],
  ["LM head logits E_b·hᵀ, d 128 (256×128·(512×128)ᵀ)", 256, 512, 128, false, true],
  ["LM head ∂E_b = G·h, d 128 (256×512·512×128)", 256, 128, 512, false, false],
  ["LM head ∂h = Gᵀ·E_b, d 128 (512×256·256×128)", 512, 128, 256, true, false],
  ["LM Small expert (4096×128·128×256)", 4096, 256, 128, false, false],
];

const k = mlpInstance() as ReturnType<typeof mlpInstance> & Peak;
const mem = new Arena(k);
const A = mem.take(4096 * 1024), B = mem.take(1024 * 512), O = mem.take(4096 * 512);
const maxThreads = Math.max(...threadList);
const startPool = mlpPool(mem, maxThreads, spawnNodeWorker);
mem.commit();
const pool = startPool();
await pool?.ready(); // the workers must not be starting while the peak is measured
mem.f32(A).fill(0.5);
mem.f32(B).fill(0.25);

const N = 2_000_000;
const peak = median(() => k.simd_peak(N, 0.9999), N * 96);
const tilePeak = tileRate(N / 8);
const lines = [
  `WebAssembly SIMD on ${os.cpus()[0]?.model ?? "?"} (${os.availableParallelism()} cores), Node ${process.version}`,
  "",
  `peak per core (12 multiply-then-add chains in registers): ${peak.toFixed(1)} GFLOP/s`,
  `register tile (4×8, depth 128, L1): ${tilePeak.toFixed(1)} GFLOP/s = ${((100 * tilePeak) / peak).toFixed(0)}% of peak`,
  "",
  `| shape | ${threadList.map((t) => `${t} thread(s) GFLOP/s | share of ${t}× peak`).join(" | ")} |`,
  `|---|${threadList.map(() => "---|---").join("|")}|`,
];
const rows: Record<string, unknown>[] = [];
for (const [name, rows_, cols, depth, transA, bT] of SHAPES) {
  const cells: string[] = [];
  const rec: Record<string, unknown> = { shape: name, rows: rows_, cols, depth };
  for (const t of threadList) {
    const kk = parallelKernels(k, t === 1 ? null : pool, 0);
    // With fewer threads than the pool has, the pool is not used: 1 thread is the plain kernel.
    if (t !== 1 && t !== maxThreads) continue;
    const [ai, ap] = transA ? [1, rows_] : [depth, 1];
    const f = bT ? () => kk.matmul_t(rows_, cols, depth, A.at, ai, ap, B.at, depth, O.at, cols, 0) : () => kk.matmul(rows_, cols, depth, A.at, ai, ap, B.at, cols, O.at, cols, 0);
    const rate = median(() => { for (let i = 0; i < 5; i++) f(); }, 5 * 2 * rows_ * cols * depth);
    cells.push(`${rate.toFixed(1)} | ${((100 * rate) / (peak * t)).toFixed(0)}%`);
    rec[`gflops${t}`] = rate;
  }
  rows.push(rec);
  lines.push(`| ${name} | ${cells.join(" | ")} |`);
}
lines.push("", `load average after: ${os.loadavg()[0].toFixed(2)}`);
process.stdout.write(lines.join("\n") + "\n");
writeBenchJson(values.json, rows, { bench: "SIMD peak", peak, tilePeak });
pool?.close();
