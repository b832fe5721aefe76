/**
 * Fault injection: `dynamoe train` killed at chosen and at random instants (inside its writes too,
 * through `DYNAMOE_FAILPOINT`, `src/io/runFiles.ts`), then restarted until it finishes, must end with
 * exactly the metrics and test results of an uninterrupted run; a stale temp file is swept; two
 * writers on one folder get one refusal naming the holder.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { CLI, ROOT } from "../cli/runCli.js";
import { TEMP_NAME } from "../../src/io/runFiles.js";
import { lcg } from "../helpers.js";

const WORK = mkdtempSync(join(tmpdir(), "dynamoe-faults-"));
const CONFIG = join(WORK, "tiny.json");
// 256 images, batch 64, 2 epochs: 8 steps, a checkpoint every 2, lines at every 2 steps and each epoch's end.
writeFileSync(CONFIG, JSON.stringify({ d: 16, h: 16, layers: 2, eMax: 4, eMin: 2, trainLimit: 256, testLimit: 200, batchSize: 64, epochs: 2, logEvery: 2, checkpointEvery: 2, seed: 5 }));

type Result = { code: number | null; signal: NodeJS.Signals | null; stderr: string };

function dynamoe(args: string[], env: Record<string, string> = {}): Result {
  const r = spawnSync(process.execPath, [...CLI, ...args], { cwd: ROOT, encoding: "utf8", env: { ...process.env, ...env }, timeout: 120_000 });
  return { code: r.status, signal: r.signal, stderr: r.stderr };
}

/** Train into `dir` until it has a summary: fresh while it has no config.json, else `--resume`. */
function finish(dir: string): number {
  for (let tries = 1; tries <= 4; tries++) {
    const r = existsSync(join(dir, "config.json")) ? dynamoe(["train", "--resume", dir]) : dynamoe(["train", "--config", CONFIG, "--out", dir]);
    assert.equal(r.code, 0, `${dir}: ${r.stderr}`);
    assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
    if (existsSync(join(dir, "summary.json"))) return tries;
  }
  throw new Error(`${dir}: no summary after 4 runs`);
}

/** What must equal the uninterrupted run: every metric line (timing aside) and the test results. */
function outcome(dir: string) {
  const lines = readFileSync(join(dir, "metrics.jsonl"), "utf8").trim().split("\n");
  const metrics = lines.map((l) => {
    const { stepMs: _t, ...rest } = JSON.parse(l) as Record<string, unknown>;
    return rest;
  });
  const summary = JSON.parse(readFileSync(join(dir, "summary.json"), "utf8")) as { test: unknown; steps: number; epochs: number };
  return { metrics, test: summary.test, steps: summary.steps, epochs: summary.epochs };
}

let reference: ReturnType<typeof outcome>;

test("an uninterrupted run (the reference)", () => {
  const dir = join(WORK, "reference");
  assert.equal(finish(dir), 1);
  reference = outcome(dir);
  assert.equal(reference.steps, 8);
});

// Every write of the run: config.json, metrics.jsonl's creation, each checkpoint and the summary
// (atomic writes), and each metric line (appends); past the last one the run simply finishes.
const FAILPOINTS = [...Array.from({ length: 8 }, (_, i) => `atomic:${i + 1}`), ...Array.from({ length: 7 }, (_, i) => `append:${i + 1}`)];

test(`killed inside each of its writes (${FAILPOINTS.length} failpoints), then resumed: exactly the uninterrupted run`, () => {
  let killed = 0;
  for (const fp of FAILPOINTS) {
    const dir = join(WORK, `fp-${fp.replace(":", "-")}`);
    const r = dynamoe(["train", "--config", CONFIG, "--out", dir], { DYNAMOE_FAILPOINT: fp });
    if (r.signal === "SIGKILL") killed++;
    else assert.equal(r.code, 0, `${fp}: ${r.stderr}`);
    finish(dir);
    assert.deepEqual(outcome(dir), reference, `${fp}: the resumed run differs from the uninterrupted one`);
    assert.deepEqual(readdirSync(dir).filter((n) => TEMP_NAME.test(n) || n === "run.lock"), [], `${fp}: temp files or the lock left behind`);
  }
  assert.ok(killed >= 12, `only ${killed} failpoints were reached`);
});

test("killed with SIGKILL at random instants, restarted each time: exactly the uninterrupted run", async () => {
  const rand = lcg(2026);
  for (let trial = 0; trial < 3; trial++) {
    const dir = join(WORK, `random-${trial}`);
    for (let kill = 0; kill < 2; kill++) {
      const args = existsSync(join(dir, "config.json")) ? ["train", "--resume", dir] : ["train", "--config", CONFIG, "--out", dir];
      const child = spawn(process.execPath, [...CLI, ...args], { cwd: ROOT, stdio: "ignore" });
      const delay = 800 + rand() * 2500;
      const timer = setTimeout(() => child.kill("SIGKILL"), delay);
      await new Promise((resolve) => child.on("close", resolve));
      clearTimeout(timer);
    }
    finish(dir);
    assert.deepEqual(outcome(dir), reference, `random trial ${trial}: the resumed run differs`);
  }
});

test("a second writer on the same run folder is refused with the holder's PID; a dead holder's lock is taken over", async () => {
  const dir = join(WORK, "two-writers");
  const longer = join(WORK, "longer.json");
  writeFileSync(longer, JSON.stringify({ ...JSON.parse(readFileSync(CONFIG, "utf8")), epochs: 40 }));
  const first = spawn(process.execPath, [...CLI, "train", "--config", longer, "--out", dir], { cwd: ROOT, stdio: "ignore" });
  while (!existsSync(join(dir, "run.lock"))) await new Promise((r) => setTimeout(r, 20));
  const second = dynamoe(["train", "--config", CONFIG, "--out", dir]);
  const resume = dynamoe(["train", "--resume", dir]);
  const firstCode = await new Promise((resolve) => first.on("close", resolve));
  assert.equal(firstCode, 0);
  assert.ok(existsSync(join(dir, "summary.json")), "the first writer finished its run");
  for (const r of [second, resume]) {
    assert.notEqual(r.code, 0);
    const lines = r.stderr.trim().split("\n");
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], new RegExp(`in use by another dynamoe process \\(PID ${first.pid}\\)`));
  }

  // A lock whose process is gone (and a stale temp file) do not stop the next run.
  const stale = join(WORK, "stale-lock");
  dynamoe(["train", "--config", CONFIG, "--out", stale], { DYNAMOE_FAILPOINT: "atomic:3" });
  writeFileSync(join(stale, "run.lock"), "999999\n");
  assert.ok(readdirSync(stale).some((n) => TEMP_NAME.test(n)), "the failpoint left a temp file");
  finish(stale);
  assert.deepEqual(outcome(stale), reference);
  assert.deepEqual(readdirSync(stale).filter((n) => TEMP_NAME.test(n)), [], "stale temp file swept");
});
