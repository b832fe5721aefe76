import assert from "node:assert/strict";
import { before, test } from "node:test";
import { numpy as np, random } from "../../../src/engine/jax.js";
import { topkSelect } from "../../../src/moe/routers/topk.js";
import { lcg, read, setup } from "../../helpers.js";

before(setup);

test("top-k selects exactly the k largest scores of every row", async () => {
  const rand = lcg(3);
  for (const [n, k] of [[8, 1], [8, 2], [8, 8], [5, 3], [4, 9]]) {
    const rows = 50;
    const scores = Array.from({ length: rows }, () => Array.from({ length: n }, () => rand()));
    const mask = await read(topkSelect(np.array(scores), k));
    const kk = Math.min(k, n);
    scores.forEach((row, t) => {
      const want = [...row.keys()].sort((a, b) => row[b] - row[a]).slice(0, kk).sort((a, b) => a - b);
      const got = [...row.keys()].filter((i) => mask[t * n + i] === 1);
      assert.deepEqual(got, want, `n=${n} k=${k} row ${t}`);
    });
  }
});

test("top-k count is k for every token, whatever the scores", async () => {
  const counts = await read(topkSelect(random.normal(random.key(0), [256, 8]), 3).sum(-1));
  assert.ok(counts.every((c) => c === 3));
});
