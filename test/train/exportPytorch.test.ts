import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, test } from "node:test";
import { tree } from "../../src/engine/jax.js";
import { loadMnist } from "../../src/data/mnist.js";
import type { ImageDataset } from "../../src/data/types.js";
import type { TrainConfigInput } from "../../src/train/config.js";
import { evaluate } from "../../src/train/evaluate.js";
import { exportPytorch, pytorchUnsupported } from "../../src/train/exportPytorch.js";
import { encodeSafetensors } from "../../src/io/safetensors.js";
import { MNIST_STATS } from "../../src/data/normalize.js";
import { train } from "../../src/train/train.js";
import type { ImageModelConfig, ImageModelParams } from "../../src/models/imageModel.js";
import { setup } from "../helpers.js";
import { loadExport, runPython, torchMissing } from "./pytorchPython.js";

let mnist: ImageDataset;
before(async () => {
  await setup();
  mnist = await loadMnist();
});

const N = 500;
const base: TrainConfigInput = { dataset: "mnist", d: 32, h: 32, layers: 2, experts: [4, 3], epochs: 1, batchSize: 64, trainLimit: 2048, testLimit: N, evalBatchSize: N, warmupSteps: 4, seed: 2 };

/** Run the exported module in PyTorch on the first N test images: accuracy and mean cross-entropy. */
function pytorchEval(dir: string): { accuracy: number; loss: number; pixelsAccuracy: number; classes: string[] } {
  const x = mnist.test.x.subarray(0, N * 784);
  const y = Float32Array.from(mnist.test.y.subarray(0, N));
  // The 8-bit pixels the normalised images came from, for the module's preprocess().
  const raw = Float32Array.from(x, (v) => Math.round((v * MNIST_STATS.std[0] + MNIST_STATS.mean[0]) * 255));
  writeFileSync(join(dir, "test.safetensors"), encodeSafetensors({ x: { dtype: "F32", shape: [N, 784], data: x }, y: { dtype: "F32", shape: [N], data: y }, raw: { dtype: "F32", shape: [N, 28, 28, 1], data: raw } }));
  return runPython([
    ...loadExport(dir, join(dir, "test.safetensors")),
    "y = t['y'].long()",
    "with torch.no_grad(): logits = model(t['x']); fromPixels = model(model.preprocess(t['raw'].to(torch.uint8)))",
    "print(json.dumps({'accuracy': (logits.argmax(-1) == y).float().mean().item(), 'loss': torch.nn.functional.cross_entropy(logits, y).item(), 'pixelsAccuracy': (fromPixels.argmax(-1) == y).float().mean().item(), 'classes': model.class_names}))",
  ]);
}

const cases: [string, TrainConfigInput][] = [
  ["dense", { model: "dense" }],
  ["percentile", { model: "moe", router: { kind: "percentile" } }],
  ["topk", { model: "moe", router: { kind: "topk", k: 2 } }],
  ["top-p", { model: "moe", router: { kind: "top-p" } }],
  ["threshold", { model: "moe", router: { kind: "threshold", threshold: 0.3 } }],
  ["remoe (ReLU gates, a token may use no expert)", { model: "moe", router: { kind: "remoe", l1Init: 0.01 } }],
  ["adamoe (null experts)", { model: "moe", router: { kind: "adamoe" } }],
  ["top-any (trained thresholds)", { model: "moe", router: { kind: "top-any" } }],
  ["topk with 4 segments and a shared expert (DeepSeekMoE)", { model: "moe", router: { kind: "topk" }, segments: 4, sharedExperts: 1 }],
];

/**
 * A few training steps leave top-any's thresholds near their start (θ = 0), where an export that lost
 * them would still agree; shifting them by 0.3 (σ 0.57 against 0.5) makes the comparison see them.
 * Consumes the old thresholds; other trees are returned as they are.
 */
function awayFromStart(params: ImageModelParams): ImageModelParams {
  const blocks = params.blocks.map((b) => {
    const th = b.moe?.router.thresholds;
    return th ? { ...b, moe: { ...b.moe!, router: { ...b.moe!.router, thresholds: th.add(0.3) } } } : b;
  });
  return { ...params, blocks };
}

for (const [name, extra] of cases) {
  test(`an exported ${name} model gives in PyTorch the test accuracy and loss of dynamoe's evaluation`, { skip: torchMissing }, async () => {
    const dir = mkdtempSync(join(tmpdir(), `dynamoe-export-${name}-`));
    const trained = (await train({ ...base, ...extra }, { outDir: join(dir, "run"), dataset: mnist })) as { params: ImageModelParams; modelConfig: ImageModelConfig };
    const { modelConfig } = trained;
    const params = awayFromStart(trained.params);
    const ours = await evaluate(params, { x: mnist.test.x.subarray(0, N * 784), y: mnist.test.y.subarray(0, N), n: N }, modelConfig, N);
    await exportPytorch(params, modelConfig, join(dir, "pytorch"), {}, { classNames: mnist.classNames, stats: mnist.stats });
    tree.dispose(params);
    const theirs = pytorchEval(join(dir, "pytorch"));
    assert.ok(ours.accuracy > 0.5, `trained: ${ours.accuracy}`);
    assert.ok(Math.abs(theirs.accuracy - ours.accuracy) <= 1 / N, `accuracy: PyTorch ${theirs.accuracy}, dynamoe ${ours.accuracy}`);
    assert.ok(Math.abs(theirs.loss - ours.loss) < 1e-4 * Math.max(1, ours.loss), `loss: PyTorch ${theirs.loss}, dynamoe ${ours.loss}`);
    // From 8-bit pixels through the module's own preprocess(), the same predictions to one image.
    assert.ok(Math.abs(theirs.pixelsAccuracy - ours.accuracy) <= 1 / N, `from pixels: ${theirs.pixelsAccuracy}`);
    assert.deepEqual(theirs.classes, mnist.classNames);
  });
}

test("routers that depend on the whole batch are refused by name", () => {
  const cfg = { kind: "moe", d: 8, h: 8, layers: 2, experts: [4, 4], inputDim: 784, numClasses: 10, router: { kind: "switch" } } as unknown as ImageModelConfig;
  assert.match(pytorchUnsupported(cfg)!, /router switch in layer 0 \(it depends on the whole batch; exported: percentile, topk, top-p, threshold, aux-free, remoe, adamoe, top-any\)/);
});
