import assert from "node:assert/strict";
import { test } from "node:test";
import { ffnFlopsPerToken, modelFlopsPerToken, moeLayerFlopsPerToken } from "../../src/analysis/flops.js";

test("dense FFN FLOPs per token, by hand", () => {
  // d = 128, h = 128: 2·(128·128 + 128·128) = 65,536
  assert.equal(ffnFlopsPerToken(128, 128), 65_536);
  // d = 64, h = 128 (LM Tiny): 2·(8,192 + 8,192) = 32,768
  assert.equal(ffnFlopsPerToken(64, 128), 32_768);
  // Dense image model, 4 layers: 4 · 65,536 = 262,144
  assert.equal(modelFlopsPerToken({ d: 128, h: 128, layers: 4 }), 262_144);
  assert.equal(modelFlopsPerToken({ d: 128, h: 128, layers: 4, experts: [] }), 262_144);
});

test("MoE layer FLOPs: router plus the active experts, by hand", () => {
  // d = 64, h = 128, N = 8, k̄ = 4: 2·64·8 + 4·32,768 = 1,024 + 131,072 = 132,096
  assert.equal(moeLayerFlopsPerToken(64, 128, 8, 4), 132_096);
  // N = 2, k̄ = 1: 256 + 32,768 = 33,024
  assert.equal(moeLayerFlopsPerToken(64, 128, 2, 1), 33_024);
  // descending 8 → 2 at LM Tiny: the sum of the two
  assert.equal(modelFlopsPerToken({ d: 64, h: 128, layers: 2, experts: [8, 2], meanActive: [4, 1] }), 165_120);
  // fractional k̄ (top-p): 2·128·8 + 1.25·65,536 = 2,048 + 81,920 = 83,968
  assert.equal(moeLayerFlopsPerToken(128, 128, 8, 1.25), 83_968);
});

test("MoE FLOPs need one active count per layer", () => {
  assert.throws(() => modelFlopsPerToken({ d: 8, h: 8, layers: 2, experts: [4, 4], meanActive: [1] }), /meanActive has 1 layers/);
});
