// Minimal reproduction of a jax-js 0.1.25 buffer leak in eager mode (see docs/jax-js-notes.md):
// disposing, unread, `takeAlongAxis(x, argsort(x))` of a not-yet-computed x leaks 2 buffers per call.
// Reading the result, or a computed x, leaks nothing.
// Run: DYNAMOE_THREADS=1 node --import tsx bench/upstream/jaxjsLazyDisposeLeak.ts
import { initEngine } from "../../src/engine/engine.js";
import { numpy as np } from "../../src/engine/jax.js";
import { trackBuffers } from "../../src/engine/liveBuffers.js";
await initEngine();
const variants: [string, () => Promise<void>][] = [
  ["lazy x, result disposed unread", async () => { const x = np.array([[3, 1, 2]]).mul(2); np.takeAlongAxis(x.ref, np.argsort(x, -1), -1).dispose(); }],
  ["lazy x, result read", async () => { const x = np.array([[3, 1, 2]]).mul(2); await np.takeAlongAxis(x.ref, np.argsort(x, -1), -1).data(); }],
  ["computed x, result disposed unread", async () => { const x = np.array([[3, 1, 2]]); np.takeAlongAxis(x.ref, np.argsort(x, -1), -1).dispose(); }],
];
for (const [name, f] of variants) {
  const tracker = await trackBuffers();
  const live: number[] = [];
  for (let i = 0; i < 3; i++) {
    await f();
    await np.zeros([2]).add(1).data(); // let pending work run
    live.push(tracker.live());
  }
  tracker.stop();
  console.log(`${name}: live buffers after 1, 2, 3 calls`, live);
}
