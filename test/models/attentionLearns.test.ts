/**
 * Attention has to be able to use the context: on sequences whose next token is the token one
 * position back (y_t = x_{t−1}), a one-block model with attention learns to copy it, and the paper's
 * per-position model (which sees only x_t and t) cannot do better than chance. This is the check
 * behind "the attention variant must beat the no-attention one" at a size that trains in seconds.
 */
import assert from "node:assert/strict";
import { before, test } from "node:test";
import { numpy as np, random, tree } from "../../src/engine/jax.js";
import { initLmModel, type LmModelConfig } from "../../src/models/lmModel.js";
import { routerDefaults } from "../../src/moe/routers/registry.js";
import { adamw } from "../../src/steps/adamw.js";
import { makeLmTrainStep } from "../../src/steps/lmStep.js";
import { unpackStepStats } from "../../src/steps/imageStep.js";
import { setup } from "../helpers.js";

before(setup);

const [V, S, B] = [16, 12, 16];

/** Random tokens; the target at t is the input at t − 1 (at t = 0, the input itself). */
function batch(seed: number): { x: Int32Array; y: Int32Array } {
  let s = seed * 2654435761 + 1;
  const next = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) >>> 8) % V;
  const x = Int32Array.from({ length: B * S }, next);
  const y = x.map((_, i) => (i % S === 0 ? x[i] : x[i - 1]));
  return { x, y };
}

async function trainedAccuracy(attention: boolean, kind: "dense" | "moe"): Promise<number> {
  const cfg: LmModelConfig = { kind, vocab: V, context: S, d: 32, h: 64, layers: 1, experts: kind === "moe" ? [4] : [], router: routerDefaults("percentile"), attention, heads: 2, dispatch: "dense" };
  const opt = adamw({ weightDecay: 0 });
  let params = initLmModel(random.key(0), cfg);
  let state = opt.init(params);
  const step = makeLmTrainStep(cfg, opt, 1, { headChunk: B * S });
  let correct = 0;
  const steps = 150;
  for (let i = 0; i < steps; i++) {
    const { x, y } = batch(i);
    const [p, st, stats] = await step(params, state, np.array(x, { dtype: np.int32 }).reshape([B, S]), np.array(y, { dtype: np.int32 }), random.key(i), np.array(1e-2));
    [params, state] = [p, st];
    const s = unpackStepStats(await stats.data(), cfg.layers);
    if (i >= steps - 10) correct += s.correct;
  }
  tree.dispose([params, state]);
  return correct / (10 * B * S);
}

test("with attention the model learns to copy the previous token; without it, it cannot", async () => {
  const withAttention = await trainedAccuracy(true, "dense");
  const without = await trainedAccuracy(false, "dense");
  assert.ok(withAttention > 0.9, `accuracy with attention ${withAttention}`);
  assert.ok(without < 0.25, `accuracy without attention ${without}`);
});

test("the same holds with MoE blocks (percentile router)", async () => {
  assert.ok((await trainedAccuracy(true, "moe")) > 0.9);
});
