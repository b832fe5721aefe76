import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, test } from "node:test";
import type { LayerRoutingStats } from "../../src/analysis/routingStats.js";
import type { ImageDataset, ImageSplit } from "../../src/data/types.js";
import { tree } from "../../src/engine/jax.js";
import { train } from "../../src/train/train.js";
import { lcg, setup } from "../helpers.js";
import type { TrainConfigInput } from "../../src/train/config.js";

before(setup);

/** Four classes in 16 dimensions: a class prototype plus noise. */
function synthetic(): ImageDataset {
  const [dim, classes] = [16, 4];
  const rand = lcg(7);
  const protos = Array.from({ length: classes }, () => Array.from({ length: dim }, () => rand() * 2 - 1));
  const split = (n: number): ImageSplit => {
    const x = new Float32Array(n * dim);
    const y = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      y[i] = i % classes;
      for (let j = 0; j < dim; j++) x[i * dim + j] = protos[y[i]][j] + 0.3 * (rand() * 2 - 1);
    }
    return { x, y, n };
  };
  return { name: "mnist", inputDim: dim, numClasses: classes, classNames: ["a", "b", "c", "d"], source: "synthetic", train: split(256), test: split(96) };
}

const tiny: TrainConfigInput = {
  dataset: "mnist",
  model: "moe",
  d: 8,
  h: 8,
  layers: 2,
  experts: [4, 3],
  router: { kind: "expert-choice" },
  epochs: 2,
  batchSize: 32,
  evalBatchSize: 40,
  warmupSteps: 2,
  logEvery: 4,
  checkpointEvery: 100,
  seed: 1,
  validation: 0, // the analytics below are counted on the synthetic test set, evaluated every epoch
};

const ROOT = new URL("../../", import.meta.url).pathname;

/** Run the CLI in a child process (capturing this process's stdout would swallow the test reporter's). */
function cli(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ["--import", "tsx", join(ROOT, "src/cli/bin.ts"), ...args], { cwd: ROOT, encoding: "utf8", timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

let dir: string;
let routing: LayerRoutingStats[];
before(async () => {
  dir = mkdtempSync(join(tmpdir(), "dynamoe-inspect-"));
  const { summary, params } = await train(tiny, { outDir: dir, dataset: synthetic() });
  tree.dispose(params);
  routing = summary.test.routing;
});

test("eval lines and summary.json carry per-layer routing analytics that add up", () => {
  assert.equal(routing.length, 2);
  const evals = readFileSync(join(dir, "metrics.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { type: string; routing?: LayerRoutingStats[]; active?: number[] })
    .filter((l) => l.type === "eval");
  assert.equal(evals.length, 2);
  assert.deepEqual(evals[1].routing, JSON.parse(JSON.stringify(routing)));
  const saved = JSON.parse(readFileSync(join(dir, "summary.json"), "utf8")) as { test: { routing: LayerRoutingStats[] } };
  assert.equal(saved.test.routing.length, 2);
  routing.forEach((s, l) => {
    assert.equal(s.experts, tiny.experts![l]);
    assert.equal(s.tokens, 96);
    assert.equal(s.kHist.length, s.experts + 1);
    assert.equal(s.kHist.reduce((a, b) => a + b, 0), 96);
    assert.ok(Math.abs(s.meanActive - evals[1].active![l]) < 1e-5, `mean k ${s.meanActive} vs active ${evals[1].active![l]}`);
    assert.ok(Math.abs(s.load.reduce((a, b) => a + b, 0) - s.meanActive) < 1e-5);
    assert.ok(Math.abs(s.gateShare.reduce((a, b) => a + b, 0) - 1) < 1e-4);
    // co-activation diagonal = tokens per expert; per-class rows add up to the expert totals
    for (let i = 0; i < s.experts; i++) {
      assert.ok(Math.abs(s.coactivation[i * s.experts + i] - s.load[i] * 96) < 1e-3);
      const perClass = s.classTokens.reduce((acc, _c, c) => acc + s.classUsage[c * s.experts + i], 0);
      assert.equal(perClass, s.coactivation[i * s.experts + i]);
    }
    assert.deepEqual(s.classTokens, [24, 24, 24, 24]);
    assert.equal(s.noExpertTokens, s.kHist[0]);
    assert.equal(s.flopsPerToken, 2 * 8 * s.experts + s.meanActive * 2 * (8 * 8 + 8 * 8));
    assert.ok(s.entropy > 0 && s.entropy <= Math.log(s.experts) + 1e-5);
  });
});

test("dynamoe inspect prints a per-layer summary and writes SVG and PNG plots", () => {
  const r = cli(["inspect", dir]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /step 16, epoch 2/);
  assert.match(r.stdout, /layer\s+N\s+k-hist 0\.\.N\s+mean k\s+max\/mean\s+cv\s+entropy\s+drop\s+no-expert\s+FLOPs\/tok/);
  assert.match(r.stdout, /^0\s+4\s+\S{5}\s+\d\.\d\d\s+\d+\.\d\d/m);
  assert.match(r.stdout, /^1\s+3\s+\S{4}\s+/m);
  assert.match(r.stdout, /plots: 16 files/);
  const plots = readdirSync(join(dir, "plots")).sort();
  for (const l of [0, 1]) {
    for (const name of ["k-histogram", "expert-load", "coactivation", "class-usage"]) {
      const svg = join(dir, "plots", `layer${l}-${name}.svg`);
      assert.ok(existsSync(svg), `${svg} (have ${plots.join(", ")})`);
      assert.match(readFileSync(svg, "utf8"), /^<svg[^>]*>/);
      const png = readFileSync(join(dir, "plots", `layer${l}-${name}.png`));
      assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    }
  }
});

test("dynamoe inspect on a folder without routing analytics is a one-line user error", () => {
  const r = cli(["inspect", join(dir, "nope")]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^dynamoe: .*no such run folder\n$/);
  const empty = mkdtempSync(join(tmpdir(), "dynamoe-inspect-"));
  const r2 = cli(["inspect", empty]);
  assert.equal(r2.code, 1);
  assert.match(r2.stderr, /no metrics\.jsonl/);
});
