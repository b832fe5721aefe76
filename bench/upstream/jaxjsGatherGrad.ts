// Minimal reproduction of two jax-js 0.1.25 gradient bugs under jit (see docs/jax-js-notes.md).
// Run: DYNAMOE_THREADS=1 node --import tsx bench/upstream/jaxjsGatherGrad.ts
import { initEngine } from "../../src/engine/engine.js";
import { numpy as np, lax, jit, grad, nn } from "../../src/engine/jax.js";
await initEngine();
const f = (x: np.Array) => { const [v, i] = lax.topK(x, 2); i.dispose(); return v.mul(2).sum(); };
console.log("eager", Array.from(await grad(f)(np.array([1, 4, 2, 3])).data()));
try { console.log("jit", Array.from(await jit(grad(f))(np.array([1, 4, 2, 3])).data())); } catch (e) { console.log("jit error:", (e as Error).message.split("\n")[0]); }
const g = (w: np.Array) => np.takeAlongAxis(w.ref, np.argsort(w.neg())).mul(2).slice([0, 2]).sum();
console.log("eager sort-slice", Array.from(await grad(g)(np.array([4, 1, 3, 2])).data()));
try { console.log("jit sort-slice", Array.from(await jit(grad(g))(np.array([4, 1, 3, 2])).data())); } catch (e) { console.log("jit error:", (e as Error).message.split("\n")[0]); }
