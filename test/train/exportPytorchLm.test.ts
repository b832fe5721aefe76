/**
 * A language-model run out to PyTorch: tiny LMs trained for a few steps on a slice of the SOTU
 * corpus, exported from their run folders by `dynamoe export`'s own function, and run in Debian's
 * PyTorch on validation sequences: the same per-token losses, logits and perplexity as dynamoe's
 * evaluation. The image model's export is `exportPytorch.test.ts`.
 */
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, test } from "node:test";
import { numpy as np, random, tree } from "../../src/engine/jax.js";
import { exportCommand } from "../../src/cli/exportCommand.js";
import { loadSotu } from "../../src/data/text/corpus.js";
import { frequencyBuckets, gatherSequences, type LmDataset } from "../../src/data/text/lmData.js";
import { gpt2Tokenizer } from "../../src/data/text/tokenize.js";
import { linearCrossEntropy } from "../../src/models/lmHead.js";
import { applyLmTrunk, initLmModel, lmLogits, lmParamCounts } from "../../src/models/lmModel.js";
import { disposeRouting } from "../../src/moe/moeLayer.js";
import { resolveConfig, type TrainConfigInput } from "../../src/train/config.js";
import { exportPytorch, pytorchStateDict } from "../../src/train/exportPytorch.js";
import { lmModelConfigFor } from "../../src/train/lmTask.js";
import { loadLmRun } from "../../src/train/loadLmRun.js";
import { encodeSafetensors } from "../../src/io/safetensors.js";
import { train } from "../../src/train/train.js";
import { setup } from "../helpers.js";
import { loadExport, runPython, torchMissing } from "./pytorchPython.js";

const S = 16; // context
const N = 8; // validation sequences compared

/**
 * A slice of the SOTU corpus: Washington's first two addresses (1790) to train on, the first
 * N·S + 1 tokens of his third as the validation text (the whole corpus is 233 addresses).
 */
function sotuSlice(): LmDataset {
  const sotu = loadSotu();
  const tok = gpt2Tokenizer();
  const train = Uint16Array.from([...tok.encode(sotu.documents[0]), tok.eot, ...tok.encode(sotu.documents[1])]);
  const validation = Uint16Array.from(tok.encode(sotu.documents[2]).slice(0, N * S + 1));
  return {
    name: "sotu",
    source: "test slice",
    vocab: tok.vocabSize,
    train,
    validation,
    split: { train: [0, 1], validation: [2] },
    validationTitles: [sotu.titles[2]],
    buckets: frequencyBuckets(train, tok.vocabSize),
  };
}

let slice: LmDataset;
before(async () => {
  await setup();
  if (!torchMissing) slice = sotuSlice();
});

const base: TrainConfigInput = { task: "lm", corpus: "sotu", context: S, d: 32, h: 64, layers: 2, experts: [4, 3], batchSize: 4, evalBatchSize: N, testLimit: N, maxSteps: 6, lr: 3e-3, warmupSteps: 1, logEvery: 6, seed: 1 };

/** The exported module in PyTorch on `x` `[N, S]`: per-token losses, arg-max hits, and how far its logits of sequence 0 are from `logits0`. */
function pytorchEval(dir: string, x: Int32Array, y: Int32Array, logits0: Float32Array): { losses: number[]; correct: number[]; logitsMaxDiff: number; tokenizer: string; eot: number } {
  const vocab = logits0.length / S;
  const f32 = (a: ArrayLike<number>) => Float32Array.from(a);
  writeFileSync(
    join(dir, "validation.safetensors"),
    encodeSafetensors({ x: { dtype: "F32", shape: [N, S], data: f32(x) }, y: { dtype: "F32", shape: [N * S], data: f32(y) }, logits0: { dtype: "F32", shape: [S, vocab], data: logits0 } }),
  );
  return runPython([
    ...loadExport(dir, join(dir, "validation.safetensors")),
    "y = t['y'].long()",
    "with torch.no_grad(): logits = model(t['x'].long())  # [N, S, vocab]",
    "flat = logits.reshape(len(y), -1)",
    "losses = torch.nn.functional.cross_entropy(flat, y, reduction='none')",
    "print(json.dumps({'losses': losses.tolist(), 'correct': (flat.argmax(-1) == y).float().tolist(), 'logitsMaxDiff': (logits[0] - t['logits0']).abs().max().item(), 'tokenizer': model.tokenizer, 'eot': model.eot}))",
  ]);
}

/** dynamoe's per-token losses on `x` `[N, S]` from the run folder's checkpoint, and the logits of sequence 0 `[S, vocab]`. */
async function dynamoeLosses(dir: string, x: Int32Array, y: Int32Array): Promise<{ losses: Float32Array; logits0: Float32Array }> {
  const run = await loadLmRun(dir);
  const { hidden, routings } = applyLmTrunk(run.params, np.array(x, { dtype: np.int32 }).reshape([N, S]), run.modelConfig, { train: false });
  routings.forEach(disposeRouting);
  const logits0 = (await lmLogits(run.params, hidden.ref.slice([0, S])).data()) as Float32Array;
  const head = await linearCrossEntropy(run.params.embed.tokens, hidden, np.array(y, { dtype: np.int32 }));
  head.correct.dispose();
  const out = { losses: (await head.losses.data()) as Float32Array, logits0 };
  run.dispose();
  return out;
}

const cases: [string, TrainConfigInput][] = [
  ["dense", { model: "dense" }],
  ["percentile MoE", { model: "moe", router: { kind: "percentile" } }],
  // A balancing bias large enough to change selections within a few steps.
  ["aux-free (top-k + balancing bias) MoE with attention", { model: "moe", router: { kind: "aux-free", k: 2, biasRate: 0.05 }, attention: true, heads: 2 }],
];

for (const [name, extra] of cases) {
  test(`an exported ${name} language model gives in PyTorch dynamoe's per-token losses and perplexity`, { skip: torchMissing }, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), `dynamoe-export-lm-${name.replace(/\W+/g, "-")}-`));
    const run = join(dir, "run");
    const { summary } = await train({ ...base, ...extra }, { outDir: run, corpus: slice });
    // From the run folder alone, as `dynamoe export RUN --out DIR` does.
    const out = join(dir, "pytorch");
    const print = process.stdout.write;
    process.stdout.write = (() => true) as typeof process.stdout.write; // the command's "load it:" lines
    try {
      await exportCommand(run, { out });
    } finally {
      process.stdout.write = print;
    }
    const { x, y } = gatherSequences(slice.validation, null, 0, N, S);
    const ours = await dynamoeLosses(run, x, y);
    const theirs = pytorchEval(out, x, y, ours.logits0);

    const n = N * S;
    assert.equal(summary.test.n, n);
    const mean = (a: ArrayLike<number>) => Array.from(a).reduce((s, v) => s + v, 0) / a.length;
    // The losses recomputed from the checkpoint are the run's own evaluation.
    assert.ok(Math.abs(mean(ours.losses) - summary.test.loss) < 1e-5, `reloaded ${mean(ours.losses)}, run ${summary.test.loss}`);
    const worst = Math.max(...theirs.losses.map((l, i) => Math.abs(l - ours.losses[i])));
    assert.ok(worst < 2e-4, `per-token loss: largest difference ${worst}`);
    assert.ok(theirs.logitsMaxDiff < 2e-4, `logits of sequence 0: largest difference ${theirs.logitsMaxDiff}`);
    const ppl = Math.exp(mean(theirs.losses));
    const dynamoePpl = summary.test.perplexity!;
    assert.ok(Math.abs(ppl / dynamoePpl - 1) < 1e-5, `perplexity: PyTorch ${ppl}, dynamoe ${dynamoePpl}`);
    assert.ok(Math.abs(mean(theirs.correct) - summary.test.accuracy) <= 1 / n, `accuracy: PyTorch ${mean(theirs.correct)}, dynamoe ${summary.test.accuracy}`);
    assert.deepEqual([theirs.tokenizer, theirs.eot], ["gpt2", 50256]);
    t.diagnostic(`${name}: perplexity dynamoe ${dynamoePpl.toFixed(4)}, PyTorch ${ppl.toFixed(4)}; per-token loss ≤ ${worst.toExponential(1)} apart, logits ≤ ${theirs.logitsMaxDiff.toExponential(1)}`);
  });
}

test("the exported state dict has the model's exact parameter count (the tied head adds none) and PyTorch's names", async () => {
  await setup();
  const cfg = lmModelConfigFor(resolveConfig({ task: "lm", d: 8, h: 16, layers: 2, experts: [3, 2], context: 4, attention: true, heads: 2 }), 50);
  const params = initLmModel(random.key(0), cfg);
  const state = await pytorchStateDict(params, cfg);
  tree.dispose(params);
  const count = Object.values(state).reduce((s, t) => s + t.data.length, 0);
  assert.equal(count, lmParamCounts(cfg).total);
  assert.equal(count, 50 * 8 + 4 * 8 + 2 * (2 * 16 + 8 * 24 + 24 + 8 * 8 + 8) + (8 * 3 + 3 * (8 * 16 + 16 + 16 * 8 + 8)) + (8 * 2 + 2 * (8 * 16 + 16 + 16 * 8 + 8)) + 16);
  assert.deepEqual(state["tokens.weight"].shape, [50, 8]);
  assert.deepEqual(state["blocks.1.attn.qkv.weight"].shape, [24, 8]);
  assert.deepEqual(state["blocks.0.moe.experts.2.down.weight"].shape, [8, 16]);
  assert.ok(!("head.weight" in state));
});

test("a language model with a router that depends on the whole batch is refused by name", async () => {
  await setup();
  const cfg = lmModelConfigFor(resolveConfig({ task: "lm", d: 8, h: 8, layers: 2, experts: [4, 4], context: 4, layerRouters: [{ kind: "percentile" }, { kind: "switch" }] }), 50);
  await assert.rejects(exportPytorch({} as never, cfg, mkdtempSync(join(tmpdir(), "dynamoe-export-lm-refused-"))), /cannot export router switch in layer 1 \(it depends on the whole batch/);
});
