/**
 * The Playground's state on the wire (`playgroundState.ts`): packed in the page's worker and unpacked
 * by the board, it is the same training state, bit for bit, and writes the same checkpoint bytes as
 * the state itself. And the playground's run config: what `dynamoe train` would resolve.
 */
import assert from "node:assert/strict";
import { before, test } from "node:test";
import { numpy as np, tree } from "../../src/engine/jax.js";
import { seedKey } from "../../src/engine/seedKey.js";
import { initImageModel } from "../../src/models/imageModel.js";
import { adamw } from "../../src/steps/adamw.js";
import { packState, unpackState } from "../../src/cli/playgroundState.js";
import { playgroundConfig, PLAYGROUND_ROUTERS } from "../../src/cli/playgroundRoutes.js";
import { HOST_ROUTER_KINDS } from "../../src/moe/routers/registry.js";
import { encodeCheckpoint } from "../../src/train/checkpoint.js";
import { setup } from "../helpers.js";

before(setup);

const CHOICES = { dataset: "mnist", router: "percentile" as const, schedule: "descending", layers: 2, eMax: 4, eMin: 2, d: 16, h: 16, lr: 0.003, batchSize: 64, steps: 100, evalEvery: 50, trainSize: 2000, evalSize: 500 };

test("playground config: the choices as dynamoe train resolves them, on the native engine", () => {
  const { config, model } = playgroundConfig(CHOICES, { inputDim: 784, numClasses: 10 });
  assert.deepEqual([config.maxSteps, config.epochs, config.trainLimit, config.testLimit, config.evalEvery, config.validation, config.engine], [100, 4, 2000, 500, 50, 0, "native"]);
  assert.deepEqual([model.experts, model.inputDim, model.router.kind], [[4, 2], 784, "percentile"]);
  assert.deepEqual([...PLAYGROUND_ROUTERS].sort(), [...HOST_ROUTER_KINDS].sort());
  assert.throws(() => playgroundConfig({ ...CHOICES, router: "nope" as "topk" }, { inputDim: 784, numClasses: 10 }), /has no native form/);
});

test("a packed training state unpacks to the same arrays and the same checkpoint", async () => {
  const { model } = playgroundConfig(CHOICES, { inputDim: 784, numClasses: 10 });
  const start = initImageModel(seedKey(1), model);
  const refs = () => tree.map((p: np.Array) => p.ref, start) as typeof start;
  // One AdamW update with the parameters as gradients: moments and a count that are not zero.
  const [params, next] = adamw().update(refs(), adamw().init(start), refs(), np.array(1e-3));
  tree.dispose(start);
  const progress = { step: 7, epoch: 0, batch: 7 };
  const key = seedKey(9);
  const direct = await encodeCheckpoint({ params, opt: next, key, progress });
  const state = unpackState(new Uint8Array(await packState(params, next, [0, 9], progress)), initImageModel(seedKey(0), model));
  assert.deepEqual(await encodeCheckpoint(state), direct);
  tree.dispose([params, next, key, state.params, state.opt, state.key]);
});
