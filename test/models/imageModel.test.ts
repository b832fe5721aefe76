import assert from "node:assert/strict";
import { before, test } from "node:test";
import { numpy as np, random, tree } from "../../src/engine/jax.js";
import { applyImageModel, countParams, initImageModel, type ImageModelConfig } from "../../src/models/imageModel.js";
import { DEFAULT_ROUTER } from "../../src/moe/routing.js";
import { expertSchedule } from "../../src/moe/schedules.js";
import { setup } from "../helpers.js";

before(setup);

const base: ImageModelConfig = { kind: "dense", inputDim: 784, numClasses: 10, d: 128, h: 128, layers: 4, experts: [], router: DEFAULT_ROUTER };

function paramsOf(cfg: ImageModelConfig): number {
  const p = initImageModel(random.key(0), cfg);
  const n = countParams(p);
  tree.dispose(p);
  return n;
}

test("exact parameter counts with the spec's MNIST defaults", () => {
  assert.equal(paramsOf(base), 235_146, "dense");
  assert.equal(paramsOf({ ...base, kind: "moe", experts: [8, 8, 8, 8] }), 1_163_914, "MoE uniform, 8 experts per layer");
});

test("parameter count follows the schedule: each expert adds 2·d·h + h + d, each router d per expert", () => {
  const perExpert = 2 * 128 * 128 + 128 + 128 + 128; // two linears plus its router column
  const descending = expertSchedule(4, { kind: "descending", eMax: 8, eMin: 2 }); // 8, 6, 4, 2
  const total = descending.reduce((a, b) => a + b, 0);
  const shared = 235_146 - 4 * (2 * 128 * 128 + 128 + 128); // dense minus its four FFNs
  assert.equal(paramsOf({ ...base, kind: "moe", experts: descending }), shared + total * perExpert);
  assert.equal(paramsOf({ ...base, inputDim: 3072, kind: "dense" }), 235_146 + (3072 - 784) * 128, "CIFAR-10 input");
});

test("forward shapes and one routing record per MoE block", () => {
  for (const cfg of [base, { ...base, kind: "moe" as const, experts: [8, 6, 4, 2] }]) {
    const p = initImageModel(random.key(1), cfg);
    const out = applyImageModel(p, random.normal(random.key(2), [5, 784]), cfg, { train: true, key: random.key(3) });
    assert.deepEqual(out.logits.shape, [5, 10]);
    assert.equal(out.routings.length, cfg.kind === "moe" ? 4 : 0);
    out.routings.forEach((r, l) => assert.deepEqual(r.mask.shape, [5, cfg.experts[l]]));
    tree.dispose([p, out.logits, out.routings as unknown as np.Array[]]);
  }
});
