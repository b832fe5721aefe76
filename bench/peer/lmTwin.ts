/**
 * A PyTorch twin of our language-model training: the same model, initial weights, batches, learning
 * rates, AdamW and clipping, trained side by side, to tell a bug in our code from a property of the set-up.
 *
 *   npm run peer:lm-twin -- --attention yes --steps 20 --every 1
 *   npm run peer:lm-twin -- --attention no --steps 150 --lr 0.005 [--side twin]
 *
 * The run is `dynamoe train --task lm --corpus sotu --scale tiny --model dense [--attention] --lr LR
 * --max-steps N --eval-limit 200 --seed S` (`--scale`, `--corpus`, `--eval-limit` change it). This
 * driver writes to `--work` (default a folder under the system temp dir):
 *
 *   init.safetensors  our initial parameters under their paths (`blocks.0.attn.qkv.w`, `[in, out]`)
 *   data.safetensors  `train [n]`, `validation [m]` token ids and `batches [N, B]`: the training
 *                     sequences of each step in the order `train()` takes them (`epochPermutation`)
 *   meta.json         sizes, optimizer settings, `lrs [N]`, the weight-decayed paths, our step-0 loss
 *
 * then runs `bench/peer/lm_twin.py` on them (which checks the step-0 loss before it trains and writes
 * `twin.json`) and our `train()`, one after the other, and prints both losses every `--every` steps
 * and both validation losses on the first `--eval-limit` validation sequences.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { initEngine } from "../../src/engine/engine.js";
import { numpy as np, random, tree } from "../../src/engine/jax.js";
import { configFromFlags } from "../../src/cli/trainCommand.js";
import { batchesPerEpoch, epochPermutation } from "../../src/data/batches.js";
import { gatherSequences, sequenceCount } from "../../src/data/text/lmData.js";
import { linearCrossEntropy } from "../../src/models/lmHead.js";
import { applyLmTrunk, initLmModel } from "../../src/models/lmModel.js";
import { resolveConfig } from "../../src/train/config.js";
import { lmModelConfigFor, loadRunCorpus } from "../../src/train/lmTask.js";
import { cosineWithWarmup } from "../../src/train/lrSchedule.js";
import { flattenWithPaths, isDecayed } from "../../src/engine/paramTree.js";
import { encodeSafetensors, type SafeTensor } from "../../src/io/safetensors.js";
import { train } from "../../src/train/train.js";
import { TORCH_PYTHON, torchEnv } from "./torch.js";

const TWIN_SCRIPT = fileURLToPath(new URL("./lm_twin.py", import.meta.url));

const { values } = parseArgs({
  options: {
    model: { type: "string", default: "dense" },
    attention: { type: "string", default: "no" },
    steps: { type: "string", default: "20" },
    lr: { type: "string", default: "0.001" },
    seed: { type: "string", default: "0" },
    scale: { type: "string", default: "tiny" },
    corpus: { type: "string", default: "sotu" },
    "eval-limit": { type: "string", default: "200" },
    /** `both`, `ours` or `twin`: which trainings to run (the step-0 check always runs). */
    side: { type: "string", default: "both" },
    every: { type: "string", default: "10" },
    "torch-threads": { type: "string", default: "1" },
    work: { type: "string" },
  },
  strict: true,
});
if (values.model !== "dense") throw new Error("--model: the twin has the dense FFN model only");
if (!["yes", "no"].includes(values.attention)) throw new Error("--attention must be yes or no");
if (!["both", "ours", "twin"].includes(values.side)) throw new Error("--side must be both, ours or twin");
const steps = Number(values.steps);
const every = Number(values.every);
const runOurs = values.side !== "twin";
const runTwin = values.side !== "ours";

// The configuration exactly as `dynamoe train` resolves these flags.
const configInput = configFromFlags({
  task: "lm",
  corpus: values.corpus,
  scale: values.scale,
  model: values.model,
  attention: values.attention === "yes",
  lr: Number(values.lr),
  seed: Number(values.seed),
  maxSteps: steps,
  evalLimit: Number(values["eval-limit"]),
});
const config = resolveConfig(configInput);
const work = values.work ?? join(tmpdir(), `dynamoe-lm-twin-${config.scale}-${config.attention ? "attn" : "noattn"}-lr${config.lr}-steps${steps}-seed${config.seed}`);
mkdirSync(work, { recursive: true });

await initEngine();
const data = await loadRunCorpus(config);
const cfg = lmModelConfigFor(config, data.vocab);
const b = config.batchSize;
const s = config.context;
const trainExamples = Math.min(sequenceCount(data.train, s), config.trainLimit ?? Infinity);
const evalSequences = Math.min(sequenceCount(data.validation, s), config.testLimit ?? Infinity);

// As `train()`: the seed's key split in two, the first initialises the parameters.
const seedKeys = random.split(random.key(config.seed), 2); // [2, 2]
const initKey = seedKeys.ref.slice(0);
seedKeys.dispose();
const params = initLmModel(initKey, cfg);

// As `train()`: batch j of epoch e is sequences perm_e[j·B .. (j+1)·B), the schedule spans all N steps.
const stepsPerEpoch = batchesPerEpoch(trainExamples, b);
const totalSteps = Math.min(config.epochs * stepsPerEpoch, config.maxSteps ?? Infinity);
if (totalSteps !== steps) throw new Error(`--steps ${steps} exceeds the run's ${totalSteps} steps`);
const batches = new Int32Array(steps * b); // [N, B]
for (let epoch = 0; epoch * stepsPerEpoch < steps; epoch++) {
  const perm = epochPermutation(config.seed, epoch, trainExamples);
  for (let j = 0; j < stepsPerEpoch && epoch * stepsPerEpoch + j < steps; j++) {
    batches.set(perm.subarray(j * b, (j + 1) * b), (epoch * stepsPerEpoch + j) * b);
  }
}
const lrAt = cosineWithWarmup({ lr: config.lr, warmupSteps: config.warmupSteps, totalSteps, minLrRatio: config.minLrRatio });
// Rounded to float32: our step receives its lr as a float32 scalar.
const lrs = Array.from({ length: steps }, (_, i) => Math.fround(lrAt(i)));

// Our loss at the initial parameters on the first batch (what `train()` reports for step 0).
const first = gatherSequences(data.train, batches, 0, b, s);
const { hidden } = applyLmTrunk(params, np.array(first.x, { dtype: np.int32 }).reshape([b, s]), cfg, { train: false });
const head = await linearCrossEntropy(params.embed.tokens, hidden, np.array(first.y, { dtype: np.int32 }), { chunk: config.headChunk, kernel: config.headKernel });
head.correct.dispose();
const oursInitLoss = ((await head.losses.data()) as Float32Array).reduce((a, v) => a + v, 0) / (b * s);

const paramTensors: Record<string, SafeTensor> = {};
for (const [path, leaf] of flattenWithPaths(params)) paramTensors[path] = { dtype: "F32", shape: leaf.shape, data: (await leaf.ref.data()) as Float32Array };
tree.dispose(params);
writeFileSync(join(work, "init.safetensors"), encodeSafetensors(paramTensors));
writeFileSync(
  join(work, "data.safetensors"),
  encodeSafetensors({
    train: { dtype: "I32", shape: [data.train.length], data: Int32Array.from(data.train) },
    validation: { dtype: "I32", shape: [data.validation.length], data: Int32Array.from(data.validation) },
    batches: { dtype: "I32", shape: [steps, b], data: batches },
  }),
);
const meta = {
  vocab: cfg.vocab,
  context: s,
  d: cfg.d,
  h: cfg.h,
  layers: cfg.layers,
  attention: cfg.attention,
  heads: cfg.heads,
  batchSize: b,
  steps,
  lrs,
  beta1: config.beta1,
  beta2: config.beta2,
  eps: config.eps,
  weightDecay: config.weightDecay,
  clip: config.clip,
  decayed: Object.keys(paramTensors).filter(isDecayed),
  evalSequences,
  evalBatchSize: config.evalBatchSize,
  oursInitLoss,
};
writeFileSync(join(work, "meta.json"), JSON.stringify(meta, null, 1) + "\n");
console.log(`work folder ${work}`);
console.log(`ours: loss at the initial parameters, first batch ${oursInitLoss.toFixed(6)}`);

type TwinResult = { initLoss: number; losses: number[]; stepSeconds: number[]; validation: { loss: number; perplexity: number; tokens: number }; torch: string; threads: number };
// The twin checks the step-0 loss first (and stops on a mismatch); with `--side ours` it trains 0 steps.
const twinArgs = [TWIN_SCRIPT, "--work", work, "--threads", values["torch-threads"], ...(runTwin ? [] : ["--check-only"])];
const proc = spawnSync(TORCH_PYTHON, twinArgs, { stdio: "inherit", env: torchEnv(Number(values["torch-threads"])) });
if (proc.status !== 0) throw new Error(`lm_twin.py failed (exit ${proc.status ?? proc.signal})`);
const twin = runTwin ? (JSON.parse(readFileSync(join(work, "twin.json"), "utf8")) as TwinResult) : null;

let ours: { losses: number[]; stepMs: number[]; validation: { loss: number; perplexity: number; tokens: number } } | null = null;
if (runOurs) {
  const losses: number[] = [];
  const stepMs: number[] = [];
  const { summary } = await train(configInput, {
    corpus: data,
    onEvent: (e) => {
      if (e.type !== "step") return;
      if (Math.fround(e.lr) !== lrs[e.step - 1]) throw new Error(`step ${e.step - 1}: train() used lr ${e.lr}, the twin ${lrs[e.step - 1]}`);
      losses.push(e.loss);
      stepMs.push(e.stepMs);
      if ((e.step - 1) % every === 0) process.stderr.write(`ours step ${e.step - 1} loss ${e.loss.toFixed(4)} (${(e.stepMs / 1000).toFixed(2)} s)\n`);
    },
  });
  ours = { losses, stepMs, validation: { loss: summary.test.loss, perplexity: summary.test.perplexity!, tokens: summary.test.n } };
  writeFileSync(join(work, "ours.json"), JSON.stringify(ours) + "\n");
}

const median = (xs: number[]) => [...xs].sort((p, q) => p - q)[Math.floor(xs.length / 2)];
const fmt = (x: number | undefined) => (x === undefined ? "-" : x.toFixed(4)).padStart(10);
console.log(`\nsotu ${config.scale}, dense, attention ${config.attention ? "yes" : "no"}, lr ${config.lr}, ${steps} steps, seed ${config.seed}`);
if (twin) console.log(`step-0 loss: ours ${oursInitLoss.toFixed(6)}, twin ${twin.initLoss.toFixed(6)}, relative difference ${(Math.abs(oursInitLoss - twin.initLoss) / twin.initLoss).toExponential(2)}`);
console.log(`${"step".padStart(5)} ${"ours".padStart(10)} ${"twin".padStart(10)} ${"ours−twin".padStart(10)} ${"lr".padStart(10)}`);
for (let i = 0; i < steps; i++) {
  if (i % every !== 0 && i !== steps - 1) continue;
  const o = ours?.losses[i];
  const t = twin?.losses[i];
  console.log(`${String(i).padStart(5)} ${fmt(o)} ${fmt(t)} ${(o !== undefined && t !== undefined ? (o - t).toExponential(1) : "-").padStart(10)} ${lrs[i].toExponential(3).padStart(10)}`);
}
const row = (name: string, v: { loss: number; perplexity: number; tokens: number }, perStep: number) =>
  console.log(`${name}: validation loss ${v.loss.toFixed(4)}, ppl ${v.perplexity.toFixed(2)} (${v.tokens} tokens); median ${perStep.toFixed(2)} s/step`);
if (ours) row("ours", ours.validation, median(ours.stepMs) / 1000);
if (twin) row(`twin (torch ${twin.torch}, ${twin.threads} thread)`, twin.validation, median(twin.stepSeconds));
