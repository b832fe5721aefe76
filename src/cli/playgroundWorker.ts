/**
 * The board Playground's Web Worker (bundled for the browser by `playgroundBundle.ts`): trains an
 * image MoE with the native step (`steps/nativeImageStep.ts`, our WebAssembly SIMD kernels) on data
 * the board serves, evaluates on a test subset with jax-js's jitted pass, and answers predictions for
 * a drawn image with each MoE layer's experts and weights. The page talks to it by messages
 * (`PlaygroundRequest` in, `PlaygroundReply` out); the lines it reports are metrics.jsonl lines.
 *
 * Threads: one, or where the page is cross-origin isolated, every core on a pool of Web Workers
 * over the kernels' shared memory (`browserPool`).
 */
import { browserWorker, nativeThreads } from "../engine/browserPreload.js";
import { defaultDevice, init, numpy as np } from "../engine/jax.js";
import { seedKey, splitKeyOnHost } from "../engine/seedKey.js";
import { batchesPerEpoch, epochPermutation, gatherBatch } from "../data/batches.js";
import { normalizePixels } from "../data/normalize.js";
import type { ChannelStats, ImageSplit } from "../data/types.js";
import { KERNEL_WORKER_SOURCE, type SpawnWorker } from "../kernels/kernelPool.js";
import { applyImageModel, initImageModel, type ImageModelConfig, type ImageModelParams } from "../models/imageModel.js";
import { disposeRouting } from "../moe/moeLayer.js";
import { adamw } from "../steps/adamw.js";
import { unpackStepStats } from "../steps/imageStep.js";
import { NativeImageStep } from "../steps/nativeImageStep.js";
import type { NativeThreads } from "../steps/nativeStep.js";
import type { Progress } from "../train/checkpoint.js";
import { packState } from "./playgroundState.js";
import type { TrainConfig } from "../train/config.js";
import { makeEvaluator } from "../train/evaluate.js";
import { cosineWithWarmup } from "../train/lrSchedule.js";

/**
 * A training run the page asks for: the resolved config (`maxSteps` steps on the first `trainLimit`
 * training images, evaluated every `evalEvery` steps on the first `testLimit` test images), its model.
 */
export type PlaygroundRun = {
  config: TrainConfig;
  model: ImageModelConfig;
  /** How the dataset's 8-bit pixels are normalised for the model (a drawn image is read the same way). */
  stats: ChannelStats;
  /** Kernel threads (at most every core, and 1 where the page is not cross-origin isolated). @default 1 */
  threads?: number;
};

export type PlaygroundRequest =
  | { type: "start"; run: PlaygroundRun }
  | { type: "pause" }
  | { type: "resume" }
  | { type: "predict"; /** `[inputDim]` 8-bit pixels, channels last. */ pixels: Uint8Array }
  | { type: "download" };

/** One MoE layer's experts for one image: expert index and combine weight, largest first. */
export type FiredExperts = { expert: number; weight: number }[];

export type PlaygroundReply =
  | { type: "line"; line: Record<string, unknown> }
  | { type: "state"; step: number; running: boolean; threads: number; stepsPerSecond: number | null }
  | { type: "prediction"; probs: number[]; label: number; layers: FiredExperts[] }
  /** The training state between two steps (`playgroundState.ts`'s wire form), for the board to write as a run folder. */
  | { type: "state-bytes"; bytes: ArrayBuffer; step: number }
  | { type: "error"; message: string };

const scope = self as unknown as { onmessage: ((e: { data: PlaygroundRequest }) => void) | null; postMessage(m: PlaygroundReply): void; location: { origin: string } };
const post = (m: PlaygroundReply) => scope.postMessage(m);

/** Kernel-pool workers in a page: a classic Worker over a Blob URL of the pool's source. */
const spawnBrowserWorker: SpawnWorker = (data) => {
  const url = URL.createObjectURL(new Blob([`${KERNEL_WORKER_SOURCE}\nself.onmessage = (e) => serve(e.data);\n`], { type: "text/javascript" }));
  const w = new browserWorker!(url);
  w.postMessage(data);
  return { stop: () => w.terminate() };
};

/**
 * The native step's threads: `asked`, at most `nativeThreads()` (every core where memory can be
 * shared with workers, else one). One by default: on our loaded 2-core machine the Playground's model
 * ran about 9× slower on two (docs/board.md).
 */
function browserPool(asked = 1): NativeThreads {
  const threads = Math.max(1, Math.min(asked, nativeThreads()));
  return threads > 1 ? { threads, spawn: spawnBrowserWorker } : { threads: 1, spawn: () => ({ stop() {} }) };
}

/** A split served by the board (`/api/playground/data`): normalised float32 images, then uint8 labels. */
async function fetchSplit(dataset: string, split: "train" | "test", n: number, inputDim: number): Promise<ImageSplit> {
  const res = await fetch(`${scope.location.origin}/api/playground/data?dataset=${encodeURIComponent(dataset)}&split=${split}&n=${n}`);
  if (!res.ok) throw new Error(`${dataset} ${split}: ${res.status} ${await res.text()}`);
  const bytes = await res.arrayBuffer();
  const rows = bytes.byteLength / (inputDim * 4 + 1);
  return { x: new Float32Array(bytes, 0, rows * inputDim), y: new Uint8Array(bytes, rows * inputDim * 4, rows), n: rows };
}

let paused = false;
let wake: (() => void) | null = null;
/** The latest parameters read back for evaluation and drawing (owned here). */
let latest: ImageModelParams | null = null;
let current: PlaygroundRun | null = null;
/** The training state between steps: the native step, the carried PRNG key and where training stands. */
let live: { step: NativeImageStep; key: np.Array; progress: Progress } | null = null;
/** Downloads asked for: served between two steps (or at once when training is not running). */
let downloads = 0;
let training = false;

async function serveDownloads(): Promise<void> {
  for (; downloads > 0 && live; downloads--) {
    const { step, key, progress } = live;
    const params = step.params(), opt = step.opt();
    const words = Array.from(await key.ref.data(), Number) as [number, number];
    const bytes = await packState(params, opt, words, progress);
    dispose(params);
    dispose(opt);
    scope.postMessage({ type: "state-bytes", bytes, step: progress.step });
  }
}

/** Runs `f` after every earlier `exclusive` call settled: evaluation replaces `latest` while a prediction may read it. */
let queue: Promise<unknown> = Promise.resolve();
function exclusive<T>(f: () => Promise<T>): Promise<T> {
  const run = queue.then(f, f);
  queue = run.catch(() => undefined);
  return run;
}

/** A macrotask turn, so messages (pause, predict) are handled between steps. */
const turn = () => new Promise<void>((resolve) => {
  const ch = new MessageChannel();
  ch.port1.onmessage = () => resolve();
  ch.port2.postMessage(0);
});

function dispose(tree: unknown): void {
  if (tree && typeof tree === "object") {
    if ("dispose" in tree && typeof (tree as np.Array).dispose === "function") (tree as np.Array).dispose();
    else for (const v of Object.values(tree)) dispose(v);
  }
}

async function train(run: PlaygroundRun): Promise<void> {
  await init("wasm");
  defaultDevice("wasm");
  const { config, model: cfg } = run;
  current = run;
  const [trainSplit, testSplit] = await Promise.all([
    fetchSplit(config.dataset, "train", config.trainLimit!, cfg.inputDim),
    fetchSplit(config.dataset, "test", config.testLimit!, cfg.inputDim),
  ]);
  const steps = config.maxSteps!, evalEvery = config.evalEvery!;
  const b = config.batchSize!;
  const layers = cfg.kind === "moe" ? cfg.layers : 0;
  const stepsPerEpoch = batchesPerEpoch(trainSplit.n, b);
  const lrAt = cosineWithWarmup({ lr: config.lr, warmupSteps: config.warmupSteps, totalSteps: steps, minLrRatio: config.minLrRatio });
  const hyper = { beta1: config.beta1, beta2: config.beta2, eps: config.eps, weightDecay: config.weightDecay };
  let [initKey, key] = await splitKeyOnHost(seedKey(config.seed));
  const params = initImageModel(initKey, cfg);
  const opt = adamw(hyper).init(params);
  const threads = browserPool(run.threads);
  const step = await NativeImageStep.create(cfg, b, hyper, config.clip, params, opt, threads);
  dispose(params);
  dispose(opt);
  live = { step, key, progress: { step: 0, epoch: 0, batch: 0 } };
  training = true;
  const evaluate = makeEvaluator(cfg, Math.min(500, testSplit.n), threads); // on our kernels, as dynamoe eval scores the downloaded run
  const evalNow = async (s: number, epoch: number) => {
    dispose(latest);
    latest = step.params();
    const r = await evaluate(latest, testSplit);
    post({ type: "line", line: { type: "eval", step: s, epoch, split: "test", loss: r.loss, accuracy: r.accuracy, ...(layers ? { active: r.active, routing: r.routing } : {}) } });
  };
  let window = { steps: 0, loss: 0, correct: 0, lr: 0, gradNorm: 0, ms: 0 };
  let timed = { steps: 0, ms: 0 };
  for (let s = 0; s < steps; s++) {
    const epoch = Math.floor(s / stepsPerEpoch), batch = s % stepsPerEpoch;
    const perm = epochPermutation(config.seed, epoch, trainSplit.n);
    await turn();
    await serveDownloads();
    while (paused) {
      post({ type: "state", step: s, running: false, threads: step.threads, stepsPerSecond: timed.ms ? (1000 * timed.steps) / timed.ms : null });
      await new Promise<void>((resolve) => (wake = resolve));
      await serveDownloads();
    }
    const t0 = performance.now();
    const { x, y } = gatherBatch(trainSplit, perm, batch * b, b, cfg.inputDim);
    const lr = lrAt(s);
    const [k, sub] = await splitKeyOnHost(key);
    key = k;
    const st = unpackStepStats(await step.step(x, y, sub, lr), layers);
    live = { step, key, progress: { step: s + 1, epoch: Math.floor((s + 1) / stepsPerEpoch), batch: (s + 1) % stepsPerEpoch } };
    const ms = performance.now() - t0;
    if (!Number.isFinite(st.loss)) throw new Error(`the loss became ${st.loss} at step ${s + 1}: try a lower learning rate`);
    window = { steps: window.steps + 1, loss: window.loss + st.loss, correct: window.correct + st.correct, lr: window.lr + lr, gradNorm: window.gradNorm + st.gradNorm, ms: window.ms + ms };
    if (s >= 5) timed = { steps: timed.steps + 1, ms: timed.ms + ms }; // after the first steps' compile and warm-up
    const done = s + 1;
    if (done % config.logEvery === 0 || done === steps) {
      const n = window.steps;
      post({ type: "line", line: { type: "train", step: done, epoch, loss: window.loss / n, accuracy: window.correct / (n * b), lr: window.lr / n, gradNorm: window.gradNorm / n, stepMs: window.ms / n } });
      window = { steps: 0, loss: 0, correct: 0, lr: 0, gradNorm: 0, ms: 0 };
    }
    if (done % evalEvery === 0 || done === steps) await exclusive(() => evalNow(done, Math.round((1000 * done) / stepsPerEpoch) / 1000)); // fractional epochs, as train.ts logs mid-epoch evaluations
    post({ type: "state", step: done, running: done < steps, threads: step.threads, stepsPerSecond: timed.ms ? (1000 * timed.steps) / timed.ms : null });
  }
  training = false;
  step.close(); // the state stays readable for downloads
  evaluate.close();
  await serveDownloads();
}

/** The class probabilities of one image (`pixels` `[inputDim]`, 8-bit) and, per MoE layer, the experts that fired with their weights. */
async function predict(pixels: Uint8Array): Promise<PlaygroundReply> {
  if (!latest || !current) return { type: "error", message: "nothing to predict with yet: wait for the first evaluation" };
  const { model, stats } = current;
  const x = normalizePixels(pixels, stats); // [inputDim], as the training images were
  const { logits, routings } = applyImageModel(latest, np.array(x).reshape([1, model.inputDim]), model, { train: false });
  const z = Array.from(await logits.data(), Number); // [classes]
  const mx = Math.max(...z);
  const e = z.map((v) => Math.exp(v - mx));
  const sum = e.reduce((a, v) => a + v, 0);
  const layers: FiredExperts[] = [];
  for (const r of routings) {
    const w = await r.weights.ref.data(); // [1, N]
    const m = await r.mask.ref.data(); // [1, N]
    disposeRouting(r);
    layers.push(Array.from(w, Number).flatMap((weight, expert) => (Number(m[expert]) > 0 ? [{ expert, weight }] : [])).sort((a, b) => b.weight - a.weight));
  }
  return { type: "prediction", probs: e.map((v) => v / sum), label: e.indexOf(Math.max(...e)), layers };
}

scope.onmessage = (e) => {
  const m = e.data;
  const fail = (err: unknown) => post({ type: "error", message: err instanceof Error ? err.message : String(err) });
  if (m.type === "start") train(m.run).catch(fail);
  else if (m.type === "pause") paused = true;
  else if (m.type === "resume") {
    paused = false;
    wake?.();
    wake = null;
  } else if (m.type === "predict") exclusive(() => predict(m.pixels)).then(post, fail);
  else if (m.type === "download") {
    downloads++;
    if (!live) fail(new Error("nothing to download yet: start training first"));
    else if (!training) serveDownloads().catch(fail);
    else wake?.(); // a paused loop serves it at once
  }
};
