import assert from "node:assert/strict";
import { before, test } from "node:test";
import { numpy as np, random, tree } from "../../src/engine/jax.js";
import { applyImageModel, countParams, initImageModel, type ImageModelConfig } from "../../src/models/imageModel.js";
import { DEFAULT_ROUTER } from "../../src/moe/routers/registry.js";
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

test("per-layer routers and dispatch modes: every layer gets its own router; gather/auto equal dense-masked logits", async () => {
  const { read, assertAllClose } = await import("../helpers.js");
  const cfg: ImageModelConfig = {
    ...base,
    inputDim: 12,
    d: 8,
    h: 6,
    layers: 3,
    kind: "moe",
    experts: [4, 4, 3],
    layerRouters: [
      { ...DEFAULT_ROUTER, kind: "switch", capacityFactorEval: 0.75, minCapacity: 1 },
      { ...DEFAULT_ROUTER, kind: "topk", k: 1 },
      { ...DEFAULT_ROUTER, kind: "threshold" },
    ],
    dispatch: "dense",
  };
  const p = initImageModel(random.key(4), cfg);
  const x = random.normal(random.key(5), [16, 12]);
  const outs = [];
  for (const dispatch of ["dense", "gather", "grouped", "auto"] as const) {
    const out = applyImageModel(p, x.ref, { ...cfg, dispatch }, { train: false });
    const active = [];
    for (const r of out.routings) active.push(await read(r.active.ref));
    outs.push({ logits: await read(out.logits), active });
    tree.dispose(out.routings as unknown as np.Array[]);
  }
  // Switch keeps 1 expert per routed token (0 when dropped), top-1 exactly 1, threshold at least 1.
  assert.ok(outs[0].active[0].every((a) => a === 0 || a === 1) && outs[0].active[0].some((a) => a === 0), "switch drops at capacity 0.75");
  assert.ok(outs[0].active[1].every((a) => a === 1), "top-1");
  assert.ok(outs[0].active[2].every((a) => a >= 1 && a <= 3), "threshold");
  for (const o of outs.slice(1)) assertAllClose(o.logits, outs[0].logits, { rtol: 1e-4, atol: 1e-5 }, "logits");
  tree.dispose([p, x]);
});
