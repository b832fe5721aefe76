/**
 * Limits checked at the boundary and hostile inputs and outputs: each mistake is one line naming the
 * limit, and text from run folders cannot become a spreadsheet formula or raw HTML.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { mdText } from "../../src/report/reportMarkdown.js";
import { resolveConfig } from "../../src/train/config.js";
import { assertOneLineErrors, run } from "../cli/runCli.js";

const WORK = mkdtempSync(join(tmpdir(), "dynamoe-boundary-"));
const file = (name: string, text: string) => {
  const path = join(WORK, name);
  writeFileSync(path, text);
  return path;
};

test("sizes and counts past their limits are one line each", () => {
  const cores = availableParallelism();
  assertOneLineErrors([
    [["train", "--threads", String(cores + 1)], new RegExp(`--threads ${cores + 1} is more than this machine's ${cores} cores`)],
    [["train", "--config", file("d.json", JSON.stringify({ d: 1e9 }))], /config\.d: .*more than WebAssembly's 4 GiB/],
    [["train", "--config", file("layers.json", JSON.stringify({ layers: 1e5 }))], /config\.layers: Too big/],
    [["train", "--config", file("k.json", JSON.stringify({ gradVariance: { every: 10, k: 1e6 } }))], /config\.gradVariance\.k: Too big/],
    [["sweep", file("grid.yaml", `grid:\n${Array.from({ length: 7 }, (_, i) => `  ${["lr", "epochs", "eMax", "eMin", "d", "h", "logEvery"][i]}: [${Array.from({ length: 12 }, (_, j) => j + 1).join(", ")}]`).join("\n")}\n`), "--dry-run"], /35,831,808 runs, more than the 10,000 a sweep may have/],
    [["sweep", file("bomb.yaml", `a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n`)], /YAML aliases cannot be resolved/],
  ]);
  assert.throws(() => resolveConfig({ eMax: 5000 }), /config\.eMax: Too big/);
});

test("an empty test split is refused before training, not reported as NaN%", async () => {
  const { train } = await import("../../src/train/train.js");
  const split = (n: number) => ({ x: new Float32Array(n * 4), y: new Uint8Array(n), n });
  const dataset = { name: "mnist" as const, inputDim: 4, numClasses: 2, classNames: ["a", "b"], source: "test", train: split(64), test: split(0) };
  await assert.rejects(train({ d: 8, h: 8, layers: 1, batchSize: 32 }, { dataset }), { name: "UserError", message: "the test split of mnist is empty: a run needs test examples to evaluate on" });
});

test("--out into a folder that is not a run, or a run folder with a planted link, is refused with one line", () => {
  const foreign = join(WORK, "foreign");
  mkdirSync(foreign);
  writeFileSync(join(foreign, "thesis.tex"), "mine");
  const linked = join(WORK, "linked");
  mkdirSync(linked);
  symlinkSync(join(WORK, "elsewhere.jsonl"), join(linked, "metrics.jsonl"));
  assertOneLineErrors([
    [["train", "--out", foreign, "--max-steps", "1"], /is not empty and not a dynamoe run folder \(it holds thesis\.tex\)/],
    [["train", "--out", linked, "--max-steps", "1"], /metrics\.jsonl is a symbolic link/],
    [["train", "--out", join(WORK, "d.json"), "--max-steps", "1"], /is not a folder/],
  ]);
  assert.equal(readFileSync(join(foreign, "thesis.tex"), "utf8"), "mine");
});

test("run names cannot become spreadsheet formulas or raw HTML in reports", async () => {
  const { resultsCsv } = await import("../../src/report/resultsTable.js");
  const { collectRuns } = await import("../../src/report/collect.js");
  const root = join(WORK, "reports");
  const dir = join(root, "=HYPERLINK(1)<script>");
  const { train } = await import("../../src/train/train.js");
  const { tree } = await import("../../src/engine/jax.js");
  const done = await train({ d: 8, h: 8, layers: 1, eMax: 2, eMin: 2, trainLimit: 64, testLimit: 32, batchSize: 32, maxSteps: 1, epochs: 1 }, { outDir: dir });
  tree.dispose(done.params);
  const csv = resultsCsv(collectRuns(root));
  assert.doesNotMatch(csv, /(^|,)=HYPERLINK/m);
  assert.match(csv, /'=HYPERLINK/);
  assert.equal(mdText("<script>alert(1)</script> `x`"), "&lt;script&gt;alert(1)&lt;/script&gt; \\`x\\`");
  const r = run(["report", root]);
  assert.equal(r.code, 0, r.stderr);
  // Outside fenced code blocks (where Markdown shows text as it is), no raw tag is left.
  const prose = readFileSync(join(root, "report.md"), "utf8").replace(/```[\s\S]*?```/g, "");
  assert.doesNotMatch(prose, /<script>/);
  assert.match(prose, /&lt;script&gt;/);
});

test("outputs that cannot be written (at a file, under a file, a dangling link, /proc, /sys, a cache at a file) are one line each", async () => {
  const root = join(WORK, "outputs");
  const { train } = await import("../../src/train/train.js");
  const { tree } = await import("../../src/engine/jax.js");
  const done = await train({ d: 8, h: 8, layers: 1, eMax: 2, eMin: 2, trainLimit: 64, testLimit: 32, batchSize: 32, maxSteps: 1, epochs: 1 }, { outDir: join(root, "a") });
  tree.dispose(done.params);
  const plain = file("plain.txt", "x");
  const dangling = join(WORK, "dangling");
  symlinkSync(join(WORK, "nowhere"), dangling);
  const steps = ["--max-steps", "1"];
  assertOneLineErrors([
    [["train", "--out", join(plain, "run"), ...steps], /cannot create the run folder .*plain\.txt exists and is not a folder/],
    [["train", "--out", join(dangling, "run"), ...steps], /cannot create the run folder .*dangling is a symbolic link to nothing/],
    [["train", "--out", "/proc/dynamoe-run", ...steps], /cannot create the run folder \/proc\/dynamoe-run: /],
    [["train", "--out", "/sys/dynamoe/run", ...steps], /cannot create the run folder \/sys\/dynamoe\/run: /],
    [["results", root, "--csv", join(plain, "r.csv")], /cannot create the folder of --csv .*plain\.txt exists and is not a folder/],
    [["results", root, "--csv", root], /could not write .*outputs: it is a folder/],
    [["results", root, "--csv", "/sys/r.csv"], /could not write \/sys\/r\.csv: /],
    [["report", root, "--out", join(dangling, "r.html")], /cannot create the report's chart folder .*dangling is a symbolic link to nothing/],
    [["report", root, "--out", "/proc/r.html"], /cannot create the report's chart folder .*\/proc\/r-charts: /],
    [["train", "--task", "lm", ...steps], /cannot create the cache folder \(\$DYNAMOE_CACHE\) .*plain\.txt exists and is not a folder/, { DYNAMOE_CACHE: plain }],
  ]);
});
