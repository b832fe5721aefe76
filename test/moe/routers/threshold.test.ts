import assert from "node:assert/strict";
import { before, test } from "node:test";
import { numpy as np } from "../../../src/engine/jax.js";
import { thresholdSelect } from "../../../src/moe/routers/threshold.js";
import { lcg, read, setup } from "../../helpers.js";

before(setup);

test("threshold selects every gate ≥ t, at least one (argmax, first on ties), at most N", async () => {
  const rand = lcg(4);
  for (const n of [1, 3, 8]) {
    for (const t of [0.05, 0.2, 0.5]) {
      const rows = 60;
      const scores = Array.from({ length: rows }, () => Array.from({ length: n }, () => Math.round(rand() * 10) / 20)); // ties included
      const mask = await read(thresholdSelect(np.array(scores), t));
      const f32 = scores.map((row) => Array.from(new Float32Array(row)));
      let fallbacks = 0;
      f32.forEach((row, r) => {
        const got = [...row.keys()].filter((i) => mask[r * n + i] === 1);
        const above = [...row.keys()].filter((i) => row[i] >= Math.fround(t));
        if (above.length > 0) assert.deepEqual(got, above, `n=${n} t=${t} row ${JSON.stringify(row)}`);
        else {
          fallbacks++;
          assert.deepEqual(got, [row.indexOf(Math.max(...row))], `fallback n=${n} t=${t} row ${JSON.stringify(row)}`);
        }
        assert.ok(got.length >= 1 && got.length <= n);
      });
      if (t === 0.5 && n > 1) assert.ok(fallbacks > 0, "the case exercises the fallback");
    }
  }
});
