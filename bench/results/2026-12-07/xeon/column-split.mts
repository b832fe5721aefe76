/**
 * The expert products (128 routed rows × 128 × 128) on two threads, split by rows (build B, f65fef3 at
 * /tmp/routing) or by panels of columns (build C, 5bfa6ce at /work/main), GFLOP/s, median of 7 × 1,000 calls:
 *   for i in 1 2 3; do for r in /tmp/routing /work/main; do node --import tsx bench/results/2026-12-07/xeon/column-split.mts $r; done; done
 * Output (2026-12-07 02:20, nothing else running) in column-split.txt.
 */
const root = process.argv[2];
const { Arena, mlpInstance } = await import(`${root}/src/kernels/mlpKernel.ts`);
const { spawnNodeWorker } = await import(`${root}/src/kernels/nodeWorkers.ts`);
const { mlpPool, parallelKernels } = await import(`${root}/src/kernels/parallelKernels.ts`);
const k = mlpInstance();
const mem = new Arena(k);
const R = 128, C = 128, D = 128;
const A = mem.take(R * D), B = mem.take(D * C), O = mem.take(R * C);
const start = mlpPool(mem, 2, spawnNodeWorker);
mem.commit();
const pool = start();
await pool.ready();
const par = parallelKernels(k, pool);
mem.f32(A).fill(0.5); mem.f32(B).fill(0.25);
const shapes: [string, () => void][] = [
  ["forward x·W1 128x128x128", () => par.matmul(R, C, D, A.at, D, 1, B.at, C, O.at, C, 0)],
  ["weight grad Aᵀ·B", () => par.matmul(R, C, D, A.at, 1, R, B.at, C, O.at, C, 0)],
  ["input grad A·Bᵀ", () => par.matmul_t(R, C, D, A.at, D, 1, B.at, D, O.at, C, 0)],
];
const out: string[] = [];
for (const [name, f] of shapes) {
  for (let i = 0; i < 500; i++) f();
  const rates: number[] = [];
  for (let r = 0; r < 7; r++) { const t = performance.now(); for (let i = 0; i < 1000; i++) f(); rates.push((1000 * 2 * R * C * D) / (performance.now() - t) / 1e6); }
  out.push(`${name}: ${rates.sort((a, b) => a - b)[3].toFixed(1)}`);
}
console.log(root.padEnd(12), out.join(" | "));
pool.close();
process.exit(0);
