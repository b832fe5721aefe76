/**
 * Run folders written before the `stepKernel` → `engine` rename (`test/fixtures/legacy-runs/`, made
 * by an earlier commit and interrupted after their step-4 checkpoint) still resume, evaluate and
 * report with the current code: the resumed run ends with exactly the metrics the old code wrote for
 * the same run trained without a stop, and every command that reads the old key says once how it
 * read it. The old code had only plain SIMD (one thread), so this file runs plain SIMD; the native
 * run now takes every core, and its training lines still match bit for bit. Its evaluations now run
 * on our kernels too (the old code evaluated with jax-js, summing in float32), so they match to
 * float32 rounding.
 */
import "./plainSimd.js";
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, test } from "node:test";
import { tree } from "../../src/engine/jax.js";
import { train } from "../../src/train/train.js";
import { run } from "../cli/runCli.js";
import { assertJsonClose, setup } from "../helpers.js";

before(setup);

const FIXTURES = new URL("../fixtures/legacy-runs/", import.meta.url).pathname;
const TIMING = new Set(["stepMs"]);

/** Metric lines without their wall-clock fields. */
function metrics(path: string): unknown[] {
  return readFileSync(path, "utf8")
    .trim()
    .split("\n")
    .map((l) => Object.fromEntries(Object.entries(JSON.parse(l) as Record<string, unknown>).filter(([k]) => !TIMING.has(k))));
}

for (const [name, engine, value] of [["native-switch", "native", "native"], ["jit-top-p", "jax", "jit"]] as const) {
  test(`an old run folder (${name}, "stepKernel": "${value}") resumes to the old uninterrupted metrics, then evaluates and reports`, async () => {
    const root = mkdtempSync(join(tmpdir(), "dynamoe-legacy-"));
    const dir = join(root, name);
    cpSync(join(FIXTURES, name), dir, { recursive: true });
    const notes: string[] = [];
    const result = await train(undefined, { outDir: dir, resume: true, onEvent: (e) => e.type === "note" && notes.push(e.message) });
    tree.dispose(result.params);
    assert.deepEqual(notes, [`config key "stepKernel" is now "engine" (${JSON.stringify(value)} read as ${JSON.stringify(engine)})`]);
    assert.equal(result.summary.engine, engine);
    const [got, want] = [metrics(join(dir, "metrics.jsonl")), metrics(join(dir, "uninterrupted-metrics.jsonl"))];
    const isTrain = (l: unknown) => (l as { type: string }).type === "train";
    assert.deepEqual(got.filter(isTrain), want.filter(isTrain));
    if (engine === "native") assertJsonClose(got, want, 2e-6, "metrics");
    else assert.deepEqual(got, want);

    const evaluated = run(["eval", "--run", dir]);
    assert.equal(evaluated.code, 0, evaluated.stderr);
    assert.match(evaluated.stderr, /^note: config key "stepKernel" is now "engine"/m);
    assert.match(evaluated.stdout, new RegExp(`${(100 * result.summary.test.accuracy).toFixed(2)}%`));

    const inspected = run(["inspect", dir, "--no-plots"]);
    assert.equal(inspected.code, 0, inspected.stderr);
    const results = run(["results", root]);
    assert.equal(results.code, 0, results.stderr);
    assert.match(results.stdout, /switch|top-p/);
    const report = run(["report", root]);
    assert.equal(report.code, 0, report.stderr);
  });
}

test("the old flag --step-kernel still works, with the same one-line note", () => {
  const root = mkdtempSync(join(tmpdir(), "dynamoe-legacy-flag-"));
  const cfg = join(root, "tiny.json");
  writeFileSync(cfg, JSON.stringify({ d: 8, h: 8, layers: 2, eMax: 4, trainLimit: 128, testLimit: 64, batchSize: 64, maxSteps: 1, epochs: 1 }));
  const r = run(["train", "--config", cfg, "--step-kernel", "jit", "--out", join(root, "run")]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /^note: config key "stepKernel" is now "engine" \("jit" read as "jax"\)$/m);
  assert.equal((JSON.parse(readFileSync(join(root, "run", "summary.json"), "utf8")) as { engine: string }).engine, "jax");
  assert.equal((JSON.parse(readFileSync(join(root, "run", "config.json"), "utf8")) as { engine: string }).engine, "jax");
});
