// jax-js 0.1.25: the backward of a gather (`np.take`) is a scatter-add run as a per-element
// JavaScript loop (`runScatter`, a CPU routine, also under jit on the wasm backend): 4-13× the
// forward gather, linear in the gathered elements (~8 µs per 128-float row). A one-hot matmul doing
// the same gather is slower still here, so dispatch keeps `take` and minimises the rows it gathers.
// Not a correctness bug: a performance limit worth reporting upstream. See docs/jax-js-notes.md.
// Run: DYNAMOE_THREADS=1 node --import tsx bench/upstream/jaxjsGatherGradCost.ts
import { initEngine } from "../../src/engine/engine.js";
import { grad, jit, nn, numpy as np, random } from "../../src/engine/jax.js";
await initEngine();
const src = random.normal(random.key(1), [321, 128]); // rows gathered from
async function ms(step: (a: np.Array) => np.Array): Promise<number> {
  const ts: number[] = [];
  for (let i = 0; i < 10; i++) {
    const t0 = performance.now();
    await step(src.ref).data();
    if (i >= 3) ts.push(performance.now() - t0);
  }
  return ts.sort((a, b) => a - b)[3];
}
for (const rows of [256, 1024, 2048]) {
  const idx = np.array(Int32Array.from({ length: rows }, (_, i) => (i * 37) % 321));
  const w = random.normal(random.key(2), [rows, 1]);
  const take = (s: np.Array) => np.take(s, idx.ref, 0).mul(w.ref).sum();
  const oneHot = (s: np.Array) => np.matmul(nn.oneHot(idx.ref, 321).astype(np.float32), s).mul(w.ref).sum();
  const row = [await ms(jit(take)), await ms(jit(grad(take))), await ms(jit(oneHot)), await ms(jit(grad(oneHot)))];
  console.log(`${rows} rows x 128: take fwd ${row[0].toFixed(2)} ms, grad ${row[1].toFixed(2)} ms; one-hot matmul fwd ${row[2].toFixed(2)} ms, grad ${row[3].toFixed(2)} ms`);
}
