/**
 * The PyTorch mirror of `npm run bench -- --peer pytorch` (`bench/peer/pytorch_models.py`) against our
 * models, at tiny sizes: the same parameter count as ours (counted from our init functions), float32
 * gradients equal to a float64 copy's, and its two MoE formulations ("simple", "loop") the same
 * function. Skipped, with the reason, where PyTorch is not installed.
 */
import assert from "node:assert/strict";
import { before, test } from "node:test";
import { random, tree } from "../../src/engine/jax.js";
import { countParams, initImageModel, type ImageModelConfig } from "../../src/models/imageModel.js";
import { initLmModel, lmParamCounts, type LmModelConfig } from "../../src/models/lmModel.js";
import { routerDefaults } from "../../src/moe/routers/registry.js";
import { torchCheck } from "../../bench/peer/peer.js";
import { imagePeerSpec, lmPeerSpec, type PeerSpec } from "../../bench/peer/spec.js";
import { findTorch } from "../../bench/peer/torch.js";
import { setup } from "../helpers.js";

before(setup);

const torch = findTorch(1, { install: false });
const skip = typeof torch === "string" ? `PyTorch not available: ${torch}` : false;

const image: ImageModelConfig = { kind: "dense", inputDim: 20, numClasses: 5, d: 16, h: 12, layers: 3, experts: [], router: routerDefaults("percentile") };
const lm: LmModelConfig = { kind: "moe", vocab: 101, context: 8, d: 16, h: 32, layers: 2, experts: [4, 2], router: routerDefaults("percentile"), attention: false, heads: 1 };

function ours(init: () => unknown): number {
  const p = init();
  const n = countParams(p);
  tree.dispose(p);
  return n;
}

/** The mirror's check for one model: counts equal to ours, gradients right, simple = loop. */
function assertMirror(spec: PeerSpec, ourCount: number, what: string): void {
  if (typeof torch === "string") return;
  const c = torchCheck(torch.python, spec, 1);
  assert.equal(c.params.simple, ourCount, `${what}: PyTorch simple has ${c.params.simple} parameters, ours ${ourCount}`);
  assert.equal(c.params.loop, ourCount, `${what}: PyTorch loop has ${c.params.loop} parameters, ours ${ourCount}`);
  const last = c.attempts.at(-1)!;
  assert.ok(c.gelu !== null, `${what}: no GELU passed the float64 gradient check: ${JSON.stringify(c.attempts)}`);
  assert.ok(last.simple.worstRelErr < 1e-3 && last.loop.worstRelErr < 1e-3, `${what}: ${JSON.stringify(last)}`);
  assert.ok(c.simpleVsLoopRelErr < 1e-9, `${what}: simple and loop differ by ${c.simpleVsLoopRelErr}`);
  assert.ok(c.ok, `${what}: ${JSON.stringify(c)}`);
}

test("PyTorch mirror: dense image model, same parameter count and right gradients", { skip }, () => {
  assertMirror(imagePeerSpec(image, 16), ours(() => initImageModel(random.key(0), image)), "dense");
});

test("PyTorch mirror: image MoE with the percentile router (descending 4, 3, 2)", { skip }, () => {
  const cfg: ImageModelConfig = { ...image, kind: "moe", experts: [4, 3, 2] };
  assertMirror(imagePeerSpec(cfg, 16), ours(() => initImageModel(random.key(0), cfg)), "percentile MoE");
});

test("PyTorch mirror: image MoE with the Switch router (capacity binds at 16 tokens over 4 experts)", { skip }, () => {
  const cfg: ImageModelConfig = { ...image, kind: "moe", experts: [4, 4, 4], router: { ...routerDefaults("switch"), minCapacity: 1 } };
  assertMirror(imagePeerSpec(cfg, 16), ours(() => initImageModel(random.key(0), cfg)), "switch MoE");
});

test("PyTorch mirror: language model with tied head, MoE (4, 2)", { skip }, () => {
  const n = ours(() => initLmModel(random.key(0), lm));
  assert.equal(n, lmParamCounts(lm).total);
  assertMirror(lmPeerSpec(lm, 2), n, "LM");
});
