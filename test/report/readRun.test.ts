import assert from "node:assert/strict";
import { appendFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { findRunFolders, type RunFolderCache } from "../../src/report/readRun.js";
import { SMALL, writeFixtureRun } from "./fixtures.js";

test("findRunFolders with a cache reads again only the run folders whose files changed, and finds new and removed ones", () => {
  const root = mkdtempSync(join(tmpdir(), "dynamoe-readrun-"));
  try {
    const a = writeFixtureRun(root, { name: "a", config: { ...SMALL, model: "dense" }, losses: [2.0, 1.5] });
    writeFixtureRun(root, { name: "b", config: { ...SMALL, model: "dense" }, losses: [2.1] });
    const cache: RunFolderCache = new Map();
    const first = findRunFolders(root, cache);
    assert.deepEqual(first.map((r) => r.name), ["a", "b"]);
    const again = findRunFolders(root, cache);
    assert.equal(again[0], first[0], "an unchanged folder comes from the cache");
    assert.equal(again[1], first[1]);

    // A run that trains on: its metrics grow, so it is read again, and its new line is there.
    appendFileSync(join(a, "metrics.jsonl"), JSON.stringify({ type: "train", step: 60, epoch: 0, loss: 1.2, accuracy: 0.5, lr: 1e-3, gradNorm: 1, stepMs: 5 }) + "\n");
    const grown = findRunFolders(root, cache);
    assert.notEqual(grown[0], first[0]);
    assert.equal(grown[0].train.length, first[0].train.length + 1);
    assert.equal(grown[0].train.at(-1)!.loss, 1.2);
    assert.equal(grown[1], first[1], "the other run is still not read");
    assert.deepEqual(grown, findRunFolders(root), "the same as reading without a cache");

    writeFixtureRun(root, { name: "c", config: { ...SMALL, model: "dense" } });
    rmSync(join(root, "b"), { recursive: true });
    assert.deepEqual(findRunFolders(root, cache).map((r) => r.name), ["a", "c"]);
    assert.deepEqual([...cache.keys()].sort(), [join(root, "a"), join(root, "c")], "a removed folder leaves the cache");
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
