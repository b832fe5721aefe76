/**
 * A full disk, for real: a run trains into a small tmpfs that holds its first checkpoint but not the
 * second. It must stop with one line, keep the first checkpoint loadable and its metrics readable, and,
 * once there is room again, resume to exactly the metrics of an uninterrupted run. Needs root (to
 * mount a tmpfs); skipped with a message otherwise.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { run } from "../cli/runCli.js";
import { TEMP_NAME } from "../../src/io/runFiles.js";

const WORK = mkdtempSync(join(tmpdir(), "dynamoe-diskfull-"));
const CONFIG = join(WORK, "tiny.json");
writeFileSync(CONFIG, JSON.stringify({ d: 16, h: 16, layers: 2, eMax: 4, eMin: 2, trainLimit: 256, testLimit: 100, batchSize: 64, epochs: 1, logEvery: 2, checkpointEvery: 2, seed: 9 }));
const MOUNT = join(WORK, "disk");

function mount(size: string, remount = false): string | null {
  if (process.getuid?.() !== 0) return "not root";
  mkdirSync(MOUNT, { recursive: true });
  const r = spawnSync("mount", remount ? ["-o", `remount,size=${size}`, MOUNT] : ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", MOUNT], { encoding: "utf8" });
  return r.status === 0 ? null : `mount failed: ${r.stderr.trim()}`;
}

const metrics = (dir: string) =>
  readFileSync(join(dir, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => {
    const { stepMs: _t, ...rest } = JSON.parse(l) as Record<string, unknown>;
    return rest;
  });

const why = mount("320k");
test("a full disk stops the run with one line, keeps the last checkpoint, and the run resumes exactly", { skip: why ? `needs a tmpfs (${why})` : false }, () => {
  try {
    const reference = join(WORK, "reference");
    assert.equal(run(["train", "--config", CONFIG, "--out", reference]).code, 0);

    const dir = join(MOUNT, "run");
    const full = run(["train", "--config", CONFIG, "--out", dir]);
    assert.notEqual(full.code, 0, "the run cannot have fitted");
    // Progress lines come first; the failure is one line, with no stack trace.
    const lines = full.stderr.trim().split("\n").filter((l) => l.startsWith("dynamoe:"));
    assert.equal(lines.length, 1, full.stderr);
    assert.doesNotMatch(full.stderr, /\n\s+at /);
    assert.match(lines[0], /could not write .*checkpoint\.safetensors: no space left on the device \(ENOSPC\); the previous file is kept/);
    assert.deepEqual(readdirSync(dir).filter((n) => TEMP_NAME.test(n)), [], "no temp file left on the full disk");
    const evaluated = run(["eval", "--run", dir]);
    assert.equal(evaluated.code, 0, `the kept checkpoint loads: ${evaluated.stderr}`);

    assert.equal(mount("4m", true), null);
    const resumed = run(["train", "--resume", dir]);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.deepEqual(metrics(dir), metrics(reference));
  } finally {
    spawnSync("umount", [MOUNT]);
  }
});
