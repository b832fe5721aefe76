/**
 * Fine-grained expert segmentation (`segments`, DeepSeekMoE): a layer of N experts of hidden size h
 * becomes m·N experts of h/m with each router's k scaled to m·k, so the experts' parameters and
 * compute are unchanged; held against the unsegmented model's counts and a short training run.
 */
import assert from "node:assert/strict";
import { before, test } from "node:test";
import { resolveConfig } from "../../src/train/config.js";
import { modelConfigFor, stackConfigFor } from "../../src/train/imageTask.js";
import { countParams, initImageModel } from "../../src/models/imageModel.js";
import { ffnFlopsPerToken } from "../../src/analysis/flops.js";
import { seedKey } from "../../src/engine/seedKey.js";
import { tree } from "../../src/engine/jax.js";
import { setup } from "../helpers.js";

before(setup);

test("segments m: m·N experts of h/m, k becomes m·k where the rule reads k, τ untouched, expert parameters and compute equal", () => {
  const plain = resolveConfig({ router: { kind: "topk", k: 2 }, experts: [8, 4], layers: 2, h: 128 });
  const fine = resolveConfig({ router: { kind: "topk", k: 2 }, experts: [8, 4], layers: 2, h: 128, segments: 4 });
  const a = stackConfigFor(plain), b = stackConfigFor(fine);
  assert.deepEqual(b.experts, [32, 16]);
  assert.equal(b.h, 32);
  assert.equal(b.router.k, 8);
  // Active expert compute per token: k experts of h against m·k of h/m.
  assert.equal(b.router.k * ffnFlopsPerToken(b.d, b.h), a.router.k * ffnFlopsPerToken(a.d, a.h));
  const pa = initImageModel(seedKey(0), modelConfigFor(plain, 784, 10)), pb = initImageModel(seedKey(0), modelConfigFor(fine, 784, 10));
  // w1, w2 and b1 keep their sizes (m·N·d·h/m = N·d·h); the router and the output biases b2 [m·N, d] grow with the expert count.
  const grown = (32 - 8) + (16 - 4);
  assert.equal(countParams(pb), countParams(pa) + 2 * b.d * grown, `parameters: plain ${countParams(pa)}, segmented ${countParams(pb)}`);
  tree.dispose([pa, pb]);
  const perc = stackConfigFor(resolveConfig({ experts: [8], layers: 1, h: 128, segments: 2 }));
  assert.equal(perc.router.tau, 50);
  assert.equal(perc.router.k, 2, "the percentile rule does not read k");
});

test("segments must divide h: one line naming both", () => {
  assert.throws(() => stackConfigFor(resolveConfig({ h: 100, segments: 3 })), /segments 3 must divide the expert hidden size h = 100/);
});
