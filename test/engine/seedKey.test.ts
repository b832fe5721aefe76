import assert from "node:assert/strict";
import { before, test } from "node:test";
import { random } from "../../src/engine/jax.js";
import { seedKey } from "../../src/engine/seedKey.js";
import { read, setup } from "../helpers.js";

before(setup);

test("seedKey(s) is random.key(s): same data and the same draws", async () => {
  for (const s of [0, 1, 7, 12345, 2 ** 31, 2 ** 32 - 1]) {
    assert.deepEqual(Array.from(await read(seedKey(s))), Array.from(await read(random.key(s))), `seed ${s}`);
  }
  assert.deepEqual(await read(random.normal(seedKey(42), [5])), await read(random.normal(random.key(42), [5])));
});

test("seedKey compiles no kernel per seed, where random.key compiles one (jax-js 0.1.25's kernel cache never shrinks)", async () => {
  const W = WebAssembly as unknown as { compile: (...a: unknown[]) => Promise<WebAssembly.Module> };
  const original = W.compile;
  let compiles = 0;
  W.compile = (...a: unknown[]) => (compiles++, original.apply(WebAssembly, a as [BufferSource]));
  try {
    await read(random.normal(seedKey(1), [3])); // warm up the kernels both paths share
    const count = async (make: (s: number) => Promise<unknown>) => {
      const before = compiles;
      for (let s = 1000; s < 1020; s++) await make(s);
      return compiles - before;
    };
    assert.equal(await count((s) => read(seedKey(s))), 0, "seedKey");
    assert.ok((await count((s) => read(random.key(s)))) >= 20, "random.key compiles per seed (if this fails, jax-js changed and seedKey may be unneeded)");
  } finally {
    W.compile = original;
  }
  assert.throws(() => seedKey(-1), /integer in \[0, 2\^32\)/);
});
