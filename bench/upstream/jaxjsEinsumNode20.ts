// jax-js 0.1.25 on Node 20: `np.einsum` throws `TypeError: ...matchAll(...).map is not a function`.
// Its expression parser calls `.map` on the iterator that `String.prototype.matchAll` returns, an
// iterator helper that Node 22 has and Node 20 lacks. dynamoe therefore uses `matmul` and `reshape`,
// never `einsum`. Run: node --import tsx bench/upstream/jaxjsEinsumNode20.ts
import { initEngine } from "../../src/engine/engine.js";
import { numpy as np } from "../../src/engine/jax.js";
await initEngine();
try {
  const y = np.einsum("ij,jk->ik", np.ones([2, 3]), np.ones([3, 4]));
  console.log("einsum works here:", y.shape, `(Node ${process.version})`);
  y.dispose();
} catch (e) {
  console.log(`einsum fails on Node ${process.version}: ${(e as Error).message}`);
}
