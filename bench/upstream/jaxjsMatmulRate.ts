// jax-js 0.1.25 wasm matmul throughput against PyTorch (OpenBLAS) at the shapes of our training
// steps, one thread each, interleaved in one run: the rate gap that bounds every ratio of
// `npm run bench -- --peer pytorch` (docs/performance.md). PyTorch is optional: without it only our
// column is printed.
// Run: DYNAMOE_THREADS=1 node --import tsx bench/upstream/jaxjsMatmulRate.ts [--rounds 5]
import { spawnSync } from "node:child_process";
import { parseArgs } from "node:util";
import { initEngine } from "../../src/engine/engine.js";
import { jit, numpy as np, random } from "../../src/engine/jax.js";

const { values } = parseArgs({ options: { rounds: { type: "string", default: "5" } } });
const rounds = Number(values.rounds);
/** [M, K, N]: image layer in and hidden (batch 256), 8 experts side by side, LM head slice. */
const SHAPES: [number, number, number][] = [
  [256, 784, 128],
  [256, 128, 128],
  [256, 128, 1024],
  [2048, 64, 8192],
];
await initEngine();
const python = process.env.DYNAMOE_TORCH_PYTHON ?? "/usr/bin/python3";
const TORCH = `
import sys, time, torch
torch.set_num_threads(1)
m, k, n, reps = map(int, sys.argv[1:])
a, b = torch.randn(m, k), torch.randn(k, n)
a @ b
t0 = time.perf_counter()
for _ in range(reps): a @ b
print((time.perf_counter() - t0) / reps * 1000)
`;
function torchMs(m: number, k: number, n: number, reps: number): number | null {
  const r = spawnSync(python, ["-c", TORCH, String(m), String(k), String(n), String(reps)], { encoding: "utf8", env: { ...process.env, OMP_NUM_THREADS: "1", OPENBLAS_NUM_THREADS: "1" } });
  return r.status === 0 ? Number(r.stdout.trim()) : null;
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log("| M×K·K×N | jax-js ms | jax-js GFLOP/s | PyTorch ms | PyTorch GFLOP/s | jax-js / PyTorch |");
console.log("|---|---|---|---|---|---|");
for (const [m, k, n] of SHAPES) {
  const a = random.normal(random.key(0), [m, k]);
  const b = random.normal(random.key(1), [k, n]);
  const f = jit((a: np.Array, b: np.Array) => np.matmul(a, b));
  (await f(a.ref, b.ref).blockUntilReady()).dispose(); // compile
  const reps = Math.max(3, Math.round(2e8 / (2 * m * k * n)));
  const ours: number[] = [];
  const theirs: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) {
      const out = await f(a.ref, b.ref).blockUntilReady(); // computed, not copied out
      out.dispose();
    }
    ours.push((performance.now() - t0) / reps);
    const t = torchMs(m, k, n, reps);
    if (t !== null) theirs.push(t);
  }
  const gflop = (2 * m * k * n) / 1e9;
  const o = median(ours);
  const p = theirs.length ? median(theirs) : null;
  console.log(`| ${m}×${k}·${k}×${n} | ${o.toFixed(2)} | ${(gflop / (o / 1000)).toFixed(1)} | ${p?.toFixed(2) ?? "(no torch)"} | ${p ? (gflop / (p / 1000)).toFixed(1) : ""} | ${p ? (o / p).toFixed(2) + "×" : ""} |`);
  a.dispose();
  b.dispose();
  f.dispose?.();
}
