import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { collectRuns } from "../../src/report/collect.js";
import { archiveRuns } from "../../src/reproduce/archiveRuns.js";
import { writeFixtureRun } from "../report/fixtures.js";

test("archive copies finished runs' small files, never checkpoints or unfinished runs, and copies only what is new", () => {
  const runs = mkdtempSync(join(tmpdir(), "dynamoe-archive-runs-"));
  const results = join(mkdtempSync(join(tmpdir(), "dynamoe-archive-results-")), "paper");
  const lm = { task: "lm", scale: "tiny", corpus: "sotu" } as const;
  const a = writeFixtureRun(runs, { name: "lm-tiny/schedule=uniform,seed=0", config: { ...lm, model: "moe", seed: 0 }, perplexity: 400, kHists: [[0, 10, 0], [0, 10, 0]] });
  writeFileSync(join(a, "checkpoint.safetensors"), Buffer.alloc(1024));
  writeFileSync(join(a, "split.json"), "{}\n");
  writeFixtureRun(runs, { name: "lm-tiny/model=dense,seed=0", config: { ...lm, model: "dense", seed: 0 }, perplexity: 390, finished: false });

  const first = archiveRuns(runs, results);
  assert.deepEqual(first, { copied: ["lm-tiny/schedule=uniform,seed=0"], unchanged: [], unfinished: ["lm-tiny/model=dense,seed=0"] });
  assert.deepEqual(readdirSync(join(results, "lm-tiny/schedule=uniform,seed=0")).sort(), ["config.json", "metrics.jsonl", "split.json", "summary.json"]);
  assert.equal(existsSync(join(results, "lm-tiny/model=dense,seed=0")), false);

  // The dense run finishes; a second archive copies it alone.
  writeFixtureRun(runs, { name: "lm-tiny/model=dense,seed=0", config: { ...lm, model: "dense", seed: 0 }, perplexity: 390 });
  const second = archiveRuns(runs, results);
  assert.deepEqual(second, { copied: ["lm-tiny/model=dense,seed=0"], unchanged: ["lm-tiny/schedule=uniform,seed=0"], unfinished: [] });

  // The report reads the copies alone, with the same numbers.
  const [fromRuns, fromResults] = [collectRuns(runs), collectRuns(results)];
  assert.deepEqual(fromResults.groups.map((g) => [g.label, g.perplexity?.mean]), fromRuns.groups.map((g) => [g.label, g.perplexity?.mean]));
  assert.throws(() => archiveRuns(join(runs, "missing"), results), /archive: .*missing does not exist/);
});
