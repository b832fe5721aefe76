/** The run configuration of language models: scale presets, task-dependent defaults, heads. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { UserError } from "../../src/errors.js";
import { LM_PRESETS, resolveConfig } from "../../src/train/config.js";

const sizes = (c: ReturnType<typeof resolveConfig>) => ({ d: c.d, h: c.h, layers: c.layers, heads: c.heads, batchSize: c.batchSize, evalBatchSize: c.evalBatchSize });

test("task lm defaults: the tiny preset (d 64, h 128, L 2), batch 32, context 128, 2 heads, the sotu corpus", () => {
  const c = resolveConfig({ task: "lm" });
  assert.deepEqual(sizes(c), { d: 64, h: 128, layers: 2, heads: 2, batchSize: 32, evalBatchSize: 32 });
  assert.equal(c.scale, "tiny");
  assert.equal(c.context, 128);
  assert.equal(c.corpus, "sotu");
  assert.equal(c.attention, false);
  assert.equal(c.model, "moe");
  assert.deepEqual(resolveConfig(JSON.parse(JSON.stringify(c))), c, "a saved config resolves to itself");
});

test("scale small and medium follow LM_PRESETS with h = 2d and d / 32 heads", () => {
  assert.deepEqual(LM_PRESETS, { tiny: { d: 64, layers: 2 }, small: { d: 128, layers: 4 }, medium: { d: 256, layers: 6 } });
  assert.deepEqual(sizes(resolveConfig({ task: "lm", scale: "small" })), { d: 128, h: 256, layers: 4, heads: 4, batchSize: 32, evalBatchSize: 32 });
  assert.deepEqual(sizes(resolveConfig({ task: "lm", scale: "medium" })), { d: 256, h: 512, layers: 6, heads: 8, batchSize: 32, evalBatchSize: 32 });
});

test("explicit sizes win over the preset, and h follows an explicit d as 2d", () => {
  const c = resolveConfig({ task: "lm", scale: "small", d: 96 });
  assert.deepEqual([c.d, c.h, c.layers, c.heads], [96, 192, 4, 3]);
  assert.deepEqual([resolveConfig({ task: "lm", d: 96, h: 100 }).h, resolveConfig({ task: "lm", layers: 3 }).layers], [100, 3]);
  const b = resolveConfig({ task: "lm", batchSize: 8 });
  assert.deepEqual([b.batchSize, b.evalBatchSize], [8, 8], "evaluation batches follow the training batch");
  assert.equal(resolveConfig({ task: "lm", batchSize: 8, evalBatchSize: 2 }).evalBatchSize, 2);
  assert.equal(resolveConfig({ task: "lm", attention: true, heads: 4 }).heads, 4);
});

test("heads that do not divide d with attention are a one-line UserError; without attention they are unused", () => {
  assert.throws(
    () => resolveConfig({ task: "lm", attention: true, heads: 3 }),
    (e) => e instanceof UserError && e.message === "config.heads: 3 heads do not divide d = 64",
  );
  assert.throws(
    () => resolveConfig({ task: "lm", attention: true, d: 48, heads: 5 }),
    (e) => e instanceof UserError && !e.message.includes("\n") && /config\.heads: 5 heads do not divide d = 48/.test(e.message),
  );
  assert.equal(resolveConfig({ task: "lm", heads: 3 }).heads, 3);
  assert.throws(() => resolveConfig({ task: "lm", heads: 0 }), UserError);
});

test("image defaults are unchanged: d 128, h 128, L 4, batch 256, eval batch 1000", () => {
  const c = resolveConfig({});
  assert.equal(c.task, "image");
  assert.deepEqual([c.d, c.h, c.layers, c.batchSize, c.evalBatchSize], [128, 128, 4, 256, 1000]);
  const scaled = resolveConfig({ task: "image", scale: "medium" });
  assert.deepEqual([scaled.d, scaled.h, scaled.layers], [128, 128, 4], "the lm scale does not touch image models");
  assert.equal(resolveConfig({ d: 64 }).h, 128, "h stays 128 for images whatever d");
});

test(
  "the default heads divide d with attention (d 100, 200 have no d / 32 heads)",
  () => {
    for (const d of [64, 96, 100, 200, 256]) {
      const c = resolveConfig({ task: "lm", attention: true, d });
      assert.equal(d % c.heads, 0, `d ${d}: ${c.heads} heads`);
    }
  },
);
