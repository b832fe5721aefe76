/** `dynamoe train`: resolve the configuration (defaults < --config file < flags), train, report. */
import { parse as parseYaml } from "yaml";
import { deepMerge, expandDottedKeys } from "../sweep/expandSweep.js";
import { existsSync, readFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { availableParallelism, loadavg } from "node:os";
import { UserError } from "../errors.js";
import { IMAGE_DATASET_NAMES } from "../data/loadImageDataset.js";
import { ownDatasetName } from "../data/splitArrays.js";
import { resolveConfig, type TrainConfig, type TrainConfigInput } from "../train/config.js";
import { train, type TrainEvent, type TrainSummary } from "../train/train.js";
import { busyMachineNote } from "./busyMachineNote.js";
import { lmBreakdownLines } from "./lmBreakdownLines.js";
import { trainProgress } from "./progress.js";

export type TrainFlags = {
  task?: string;
  dataset?: string;
  /** Own data: the folder or `.npz`/`.safetensors` file (same as `dataset`). */
  data?: string;
  corpus?: string;
  scale?: string;
  attention?: boolean;
  context?: number;
  evalLimit?: number;
  model?: string;
  router?: string;
  layerRouters?: string[];
  dispatch?: string;
  dispatchCapacity?: "exact" | number;
  schedule?: string;
  experts?: number[];
  segments?: number;
  sharedExperts?: number;
  budget?: string;
  epochs?: number;
  seed?: number;
  lr?: number;
  batchSize?: number;
  maxSteps?: number;
  /** `key.path=value` pairs, applied last. */
  set?: string[];
  validation?: number;
  evalEvery?: number;
  keepBest?: boolean;
  config?: string;
  out?: string;
  resume?: string;
  dataDir?: string;
  engine?: string;
  /** The old name of `engine`, read as the config key `stepKernel` (renamed with a note). */
  stepKernel?: string;
};

function readConfigFile(path: string): Record<string, unknown> {
  if (!existsSync(path)) throw new UserError(`--config ${path}: file not found`);
  try {
    // YAML is a superset of JSON: one parser reads both.
    const parsed: unknown = parseYaml(readFileSync(path, "utf8"));
    if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) throw new Error("not an object");
    return parsed as Record<string, unknown>;
  } catch (e) {
    throw new UserError(`--config ${path}: not a JSON or YAML object (${(e as Error).message.split("\n")[0]})`);
  }
}

/** `--set key.path=value` pairs as config keys: the value read as YAML (`30`, `switch`, `[8, 4, 4, 2]`, `true`). */
export function setPairs(pairs: string[]): Record<string, unknown> {
  const flat: Record<string, unknown> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new UserError(`--set ${pair}: expected key=value, e.g. --set router.tau=30`);
    const key = pair.slice(0, eq).trim();
    try {
      flat[key] = parseYaml(pair.slice(eq + 1));
    } catch (e) {
      throw new UserError(`--set ${pair}: the value is not readable (${(e as Error).message.split("\n")[0]})`);
    }
  }
  return expandDottedKeys(flat);
}

/** Merge the config file and the flags into one configuration input. */
export function configFromFlags(flags: TrainFlags): TrainConfigInput {
  const base = flags.config ? readConfigFile(flags.config) : {};
  const cfg: Record<string, unknown> = { ...base };
  const set = (k: string, v: unknown) => {
    if (v !== undefined) cfg[k] = v;
  };
  set("task", flags.task);
  const dataset = flags.data ?? flags.dataset;
  // Own data (a folder or file) is recorded by its absolute path, so the run resumes from anywhere.
  set("dataset", dataset === undefined || (IMAGE_DATASET_NAMES as readonly string[]).includes(dataset) || !existsSync(dataset) ? dataset : resolve(dataset));
  set("corpus", flags.corpus);
  set("scale", flags.scale);
  set("attention", flags.attention);
  set("context", flags.context);
  set("testLimit", flags.evalLimit);
  set("model", flags.model);
  set("schedule", flags.schedule);
  set("experts", flags.experts);
  set("segments", flags.segments);
  set("sharedExperts", flags.sharedExperts);
  set("budget", flags.budget);
  set("epochs", flags.epochs);
  set("seed", flags.seed);
  set("lr", flags.lr);
  set("batchSize", flags.batchSize);
  set("maxSteps", flags.maxSteps);
  set("validation", flags.validation);
  set("evalEvery", flags.evalEvery);
  set("keepBest", flags.keepBest);
  set("dataDir", flags.dataDir);
  set("engine", flags.engine);
  set("stepKernel", flags.stepKernel);
  set("dispatch", flags.dispatch);
  set("dispatchCapacity", flags.dispatchCapacity);
  if (flags.layerRouters !== undefined) cfg.layerRouters = flags.layerRouters.map((kind) => ({ kind }));
  if (flags.router !== undefined) cfg.router = { ...((cfg.router as object | undefined) ?? {}), kind: flags.router };
  return deepMerge(cfg, setPairs(flags.set ?? [])) as TrainConfigInput;
}

/** A finished run's summary; a `UserError` when it is damaged. */
function readSummary(dir: string): TrainSummary {
  const path = join(dir, "summary.json");
  try {
    const s = JSON.parse(readFileSync(path, "utf8")) as TrainSummary;
    if (!s || typeof s !== "object" || !s.test || typeof s.test.accuracy !== "number") throw new Error("missing fields");
    return s;
  } catch (err) {
    throw new UserError(`${path}: damaged (${(err as Error).message.split("\n")[0]}); delete it and run dynamoe train --resume ${dir} to rebuild it from the checkpoint`);
  }
}

/** A fresh folder name under runs/ that does not exist yet. */
function defaultOutDir(c: TrainConfig): string {
  const what = (c.model === "dense" ? "dense" : `moe-${c.router.kind}-${c.schedule}`) + (c.task === "lm" && c.attention ? "-attn" : "");
  const data = c.task === "lm" ? `lm-${basename(c.corpus).replace(/\.[^.]*$/, "")}-${c.scale}` : ownDatasetName(c.dataset);
  const base = join("runs", `${data}-${what}-seed${c.seed}`);
  let dir = base;
  for (let i = 2; existsSync(dir); i++) dir = `${base}-${i}`;
  return dir;
}

export function printSummary(s: TrainSummary, outDir: string | undefined): void {
  const lines =
    s.task === "lm"
      ? [
          `validation ppl     ${s.test.perplexity!.toFixed(2)}  (loss ${s.test.loss.toFixed(4)} nats/token, next-token accuracy ${(100 * s.test.accuracy).toFixed(2)}%, ${s.test.n.toLocaleString("en-US")} tokens)`,
          `parameters         ${s.params.toLocaleString("en-US")} (${s.paramsNonEmbedding!.toLocaleString("en-US")} without embeddings)`,
        ]
      : [
          ...(s.validation ? [`validation acc.    ${(100 * s.validation.accuracy).toFixed(2)}%  (loss ${s.validation.loss.toFixed(4)}, ${s.validation.n} held-out training images, last epoch)`] : []),
          `test accuracy      ${(100 * s.test.accuracy).toFixed(2)}%  (loss ${s.test.loss.toFixed(4)}, ${s.test.n} examples${s.best ? `, the best validation state: step ${s.best.step}` : ""})`,
          `parameters         ${s.params.toLocaleString("en-US")}`,
        ];
  if (s.model === "moe") {
    const matched = s.budget === "matched" ? `, budget-matched to ${s.experts.reduce((a, b) => a + b, 0)} experts in all` : "";
    lines.push(`experts per layer  ${s.experts.join(", ")}  (${s.schedule}${matched}, router ${s.router})`);
    lines.push(`active per layer   ${s.meanActive.map((a) => a.toFixed(2)).join(", ")}  (mean experts per token, ${s.task === "lm" ? "validation" : "test"} set)`);
    lines.push(...lmBreakdownLines(s.test));
    lines.push(`dispatch           ${s.dispatch.join("; ")}`);
  }
  lines.push(`steps              ${s.steps} in ${s.wallSeconds.toFixed(1)} s, median ${s.medianStepMs.toFixed(1)} ms/step, ${s.threads} thread(s)`);
  if (outDir) lines.push(`run folder         ${outDir}`);
  process.stdout.write(lines.join("\n") + "\n");
}

export async function trainCommand(flags: TrainFlags): Promise<void> {
  let outDir: string;
  let input: TrainConfigInput = {};
  let changes: Record<string, unknown> = {};
  if (flags.resume) {
    outDir = flags.resume;
    if (!existsSync(join(outDir, "config.json"))) throw new UserError(`--resume ${outDir}: not a dynamoe run folder (no config.json)`);
    // Flags given with --resume are changes to the saved configuration (only the safe ones are accepted).
    const { resume: _r, ...rest } = flags;
    changes = configFromFlags(rest) as Record<string, unknown>;
    if (existsSync(join(outDir, "summary.json")) && Object.keys(changes).length === 0) {
      const summary = readSummary(outDir);
      process.stderr.write(`${outDir} has already finished; its summary:\n`);
      printSummary(summary, outDir);
      return;
    }
  } else {
    input = configFromFlags(flags);
    const resolved = resolveConfig(input, { onNote: (line) => process.stderr.write(`note: ${line}\n`) }); // validate before touching the disk
    outDir = flags.out ?? defaultOutDir(resolved);
  }
  const controller = new AbortController();
  let interrupts = 0;
  const onSigint = () => {
    if (++interrupts > 1) process.exit(130);
    process.stderr.write("\ninterrupt: finishing the current step and saving a checkpoint (Ctrl-C again to quit now)\n");
    controller.abort();
  };
  process.on("SIGINT", onSigint);
  process.on("SIGTERM", onSigint);
  const busy = busyMachineNote(Boolean(process.env.DYNAMOE_THREADS), availableParallelism(), loadavg()[0], Boolean(process.stderr.isTTY));
  if (busy) process.stderr.write(`note: ${busy}\n`);
  const progress = trainProgress(outDir);
  try {
    // The notes of a new run's configuration were printed when it was validated above.
    const onEvent = flags.resume ? progress.onEvent : (e: TrainEvent) => e.type !== "note" && progress.onEvent(e);
    const { summary } = await train(input, { outDir, resume: Boolean(flags.resume), changes, onEvent, signal: controller.signal });
    progress.stop();
    printSummary(summary, outDir);
  } finally {
    progress.stop();
    process.off("SIGINT", onSigint);
    process.off("SIGTERM", onSigint);
  }
}
