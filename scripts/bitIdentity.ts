/**
 * Behaviour check for refactors: trains a fixed set of short runs and prints one SHA-256 per run
 * over its metrics and summary, timing fields left out, so two checkouts can be compared run by run.
 *
 *   node --import tsx scripts/bitIdentity.ts --out /tmp/bits-after --json after.json
 *   node --import tsx scripts/bitIdentity.ts --compare before.json after.json
 *
 * The runs: MNIST, one epoch, with the dense model and each router (percentile with the uniform and
 * the descending schedule), on the jax-js step and, where it runs, the native step; the Tiny language
 * model for 20 steps with and without attention. `--engine-key stepKernel` writes the configuration
 * key under its name before the rename (for checkouts from before it), `--only NAME,...` picks runs.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";

type Run = { name: string; config: Record<string, unknown> };

const IMAGE_ROUTERS = ["percentile", "topk", "switch", "top-p", "expert-choice", "gshard", "threshold", "batch-percentile"];
/** Routers the native step ran when this list was written; the jax-js step runs them all. */
const NATIVE_ROUTERS = new Set(["percentile", "topk", "switch", "threshold"]);

function runs(engineKey: string): Run[] {
  const engine = (which: "native" | "jax") => ({ [engineKey]: engineKey === "stepKernel" && which === "jax" ? "jit" : which });
  const image = { dataset: "mnist", epochs: 1, seed: 0 };
  const out: Run[] = [];
  for (const which of ["jax", "native"] as const) {
    out.push({ name: `mnist-dense-${which}`, config: { ...image, model: "dense", ...engine(which) } });
    for (const kind of IMAGE_ROUTERS) {
      if (which === "native" && !NATIVE_ROUTERS.has(kind)) continue;
      out.push({ name: `mnist-${kind}-${which}`, config: { ...image, router: { kind }, ...engine(which) } });
    }
    out.push({ name: `mnist-percentile-descending-${which}`, config: { ...image, schedule: "descending", ...engine(which) } });
  }
  const lm = { task: "lm", scale: "tiny", maxSteps: 20, logEvery: 5, testLimit: 64, seed: 0 };
  out.push({ name: "lm-tiny", config: { ...lm } });
  out.push({ name: "lm-tiny-attention", config: { ...lm, attention: true } });
  return out;
}

/** Keys that hold wall-clock times or the machine's thread count: they differ between any two runs. */
const TIMING = /(ms|Ms|seconds|Seconds|time|Time|threads|elapsed)/;

function stripTiming(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stripTiming);
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).filter(([k]) => !TIMING.test(k)).map(([k, v]) => [k, stripTiming(v)]));
  }
  return value;
}

function digest(dir: string): { metrics: string; summary: string; lines: number } {
  const lines = readFileSync(join(dir, "metrics.jsonl"), "utf8").trim().split("\n");
  const metrics = createHash("sha256").update(lines.map((l) => JSON.stringify(stripTiming(JSON.parse(l)))).join("\n")).digest("hex");
  const summary = JSON.parse(readFileSync(join(dir, "summary.json"), "utf8")) as Record<string, unknown>;
  // The summary's labels of how each layer ran (dispatch, engine) are descriptions, not results.
  const { dispatch: _d, stepKernel: _s, engine: _e, ...rest } = summary;
  return { metrics, summary: createHash("sha256").update(JSON.stringify(stripTiming(rest))).digest("hex"), lines: lines.length };
}

function train(config: Record<string, unknown>, out: string): Promise<void> {
  const cfgFile = `${out}.config.json`;
  writeFileSync(cfgFile, JSON.stringify(config));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", "src/cli/bin.ts", "train", "--config", cfgFile, "--out", out], {
      stdio: ["ignore", "ignore", "pipe"],
      env: { ...process.env, DYNAMOE_THREADS: "1" },
    });
    let err = "";
    child.stderr.on("data", (b) => (err += String(b)));
    child.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`${out}: exit ${code}\n${err.slice(-2000)}`))));
  });
}

async function main() {
  const { values } = parseArgs({
    options: {
      out: { type: "string", default: "/tmp/dynamoe-bits" },
      json: { type: "string" },
      "engine-key": { type: "string", default: "engine" },
      only: { type: "string" },
      jobs: { type: "string", default: "2" },
      compare: { type: "boolean", default: false },
    },
    allowPositionals: true,
  });
  if (values.compare) return compare(process.argv.filter((a) => a.endsWith(".json")));
  let todo = runs(values["engine-key"]!);
  if (values.only) todo = todo.filter((r) => values.only!.split(",").includes(r.name));
  mkdirSync(values.out!, { recursive: true });
  const result: Record<string, ReturnType<typeof digest>> = {};
  const queue = [...todo];
  const worker = async () => {
    for (let r = queue.shift(); r; r = queue.shift()) {
      const dir = join(values.out!, r.name);
      if (!existsSync(join(dir, "summary.json"))) await train(r.config, dir);
      result[r.name] = digest(dir);
      process.stderr.write(`${r.name} ${result[r.name].metrics.slice(0, 16)}\n`);
    }
  };
  await Promise.all(Array.from({ length: Number(values.jobs) }, worker));
  const ordered = Object.fromEntries(todo.map((r) => [r.name, result[r.name]]));
  if (values.json) writeFileSync(values.json, JSON.stringify(ordered, null, 2) + "\n");
  else console.log(JSON.stringify(ordered, null, 2));
}

function compare([a, b]: string[]) {
  if (!a || !b) throw new Error("--compare BEFORE.json AFTER.json");
  const before = JSON.parse(readFileSync(a, "utf8")) as Record<string, ReturnType<typeof digest>>;
  const after = JSON.parse(readFileSync(b, "utf8")) as Record<string, ReturnType<typeof digest>>;
  let same = 0;
  let differ = 0;
  for (const name of Object.keys(before)) {
    const x = before[name];
    const y = after[name];
    const ok = y && x.metrics === y.metrics && x.summary === y.summary;
    console.log(`${ok ? "same  " : "DIFFER"} ${name.padEnd(34)} metrics ${x.metrics.slice(0, 12)} ${y ? y.metrics.slice(0, 12) : "missing"}  summary ${x.summary.slice(0, 12)} ${y ? y.summary.slice(0, 12) : "missing"}  (${x.lines} lines)`);
    if (ok) same++;
    else differ++;
  }
  console.log(`${same} same, ${differ} differ`);
  if (differ) process.exitCode = 1;
}

await main();
