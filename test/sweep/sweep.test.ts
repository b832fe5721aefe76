import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { CLI, ROOT, run } from "../cli/runCli.js";

const tmp = () => mkdtempSync(join(tmpdir(), "dynamoe-sweep-"));

// Two steps of a tiny MoE on 128 MNIST images: a run takes about 2 s, mostly start-up.
const TINY = "{ d: 16, h: 16, layers: 2, experts: [2, 2], batchSize: 32, trainLimit: 128, testLimit: 100, evalBatchSize: 100, maxSteps: 2, epochs: 1, logEvery: 1, checkpointEvery: 1, warmupSteps: 1 }";

const lastLine = (s: string) => s.trim().split("\n").at(-1) ?? "";

test("sweep: runs the grid, a failing run does not stop the others, re-runs skip finished runs and resume interrupted ones", () => {
  const dir = tmp();
  const out = join(dir, "out");
  const spec = join(dir, "tiny.yaml");
  writeFileSync(spec, [`out: ${out}`, `base: ${TINY}`, "grid:", "  router: [topk, switch]", "include:", `  - { model: dense, dataDir: ${join(dir, "no-such-dir")} }`].join("\n"));

  const dry = run(["sweep", spec, "--dry-run"]);
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, /^tiny: 3 runs in /);
  assert.match(dry.stdout, /new {5}router=switch,seed=0\nnew {5}router=topk,seed=0\n0 finished, 0 to resume, 3 to start/);
  assert.ok(!existsSync(out), "a dry run writes nothing");

  const first = run(["sweep", spec, "--jobs", "2"]);
  assert.equal(first.code, 1, first.stderr);
  assert.equal(lastLine(first.stderr), "dynamoe: 1 of 3 runs failed (see its sweep-error.log)");
  assert.match(first.stdout, /2 done, 0 resumed, 0 skipped \(finished earlier\), 1 failed/);
  assert.match(first.stdout, /FAILED dataDir=.*model=dense,seed=0~[0-9a-f]{8} \(exit 1\); log: .*sweep-error\.log\n {4}dynamoe: .*no-such-dir/);
  assert.match(first.stderr, /start {3}router=topk,seed=0/);
  assert.match(first.stderr, /done {4}router=switch,seed=0 .* test accuracy \d+\.\d\d%/);
  for (const [router, id] of [["topk", "router=topk,seed=0"], ["switch", "router=switch,seed=0"]]) {
    const config = JSON.parse(readFileSync(join(out, id, "config.json"), "utf8"));
    assert.equal(config.router.kind, router);
    assert.equal(config.d, 16);
    assert.equal(JSON.parse(readFileSync(join(out, id, "summary.json"), "utf8")).steps, 2);
  }
  const failed = first.stdout.match(/FAILED (\S+)/)![1];
  assert.match(readFileSync(join(out, failed, "sweep-error.log"), "utf8"), /no-such-dir/);
  const manifest = JSON.parse(readFileSync(join(out, "sweep.json"), "utf8"));
  assert.deepEqual(manifest.runs.map((r: { id: string }) => r.id), [failed, "router=switch,seed=0", "router=topk,seed=0"]);

  // Again: finished runs are skipped (untouched), the failed one is tried again.
  const summary = join(out, "router=topk,seed=0", "summary.json");
  const mtime = statSync(summary).mtimeMs;
  const second = run(["sweep", spec]);
  assert.equal(second.code, 1, second.stderr);
  assert.match(second.stdout, /0 done, 0 resumed, 2 skipped \(finished earlier\), 1 failed/);
  assert.equal(statSync(summary).mtimeMs, mtime);

  // A run folder with config.json and a checkpoint but no summary was interrupted: it resumes.
  rmSync(summary);
  const listed = run(["sweep", spec, "--dry-run"]);
  assert.match(listed.stdout, /resume  router=topk,seed=0\n/);
  assert.match(listed.stdout, /new {5}dataDir=.*\(failed before: .*sweep-error\.log\)/);
  const third = run(["sweep", spec]);
  assert.equal(third.code, 1, third.stderr);
  assert.match(third.stdout, /0 done, 1 resumed, 1 skipped \(finished earlier\), 1 failed/);
  assert.match(third.stderr, /start {3}router=topk,seed=0 \(resuming\)/);
  assert.ok(existsSync(summary));

  // The spec changed under a started run: refused before anything runs.
  writeFileSync(spec, readFileSync(spec, "utf8").replace("maxSteps: 2", "maxSteps: 3"));
  const changed = run(["sweep", spec]);
  assert.equal(changed.code, 1);
  assert.match(changed.stderr.trim(), /^dynamoe: .*router=switch,seed=0 was started with another configuration than the spec now gives it \(and 1 more run\(s\)\)/);
});

test("sweep: shards, and one-line errors for bad specs, flags and invalid runs", () => {
  const dir = tmp();
  const spec = join(dir, "grid.yaml");
  writeFileSync(spec, `base: ${TINY}\ngrid:\n  router: [percentile, topk, switch]\nseeds: [0, 1]\n`);
  // Every shard covering every run once is tested in shard.test.ts; here the CLI's shard 1/4 of 6.
  const shard = run(["sweep", spec, "--dry-run", "--shard", "1/4", "--out", join(dir, "out")]);
  assert.equal(shard.code, 0, shard.stderr);
  assert.match(shard.stdout, /^grid: shard 1\/4: 2 of 6 runs in .*\nstatus  run\nnew     router=percentile,seed=1\nnew     router=topk,seed=1\n/);

  writeFileSync(join(dir, "bad.yaml"), "grid:\n  router: [topk, bogus]\n");
  const cases: [string[], RegExp][] = [
    [["sweep", join(dir, "nope.yaml")], /nope\.yaml: sweep spec not found/],
    [["sweep", join(dir, "bad.yaml"), "--dry-run"], /bad: run router=bogus,seed=0 \(grid\): config\.router\.kind: /],
    [["sweep", spec, "--shard", "4/4"], /--shard must be i\/n with 0 ≤ i < n/],
  ];
  for (const [args, pattern] of cases) {
    const r = run(args);
    assert.notEqual(r.code, 0, args.join(" "));
    const lines = r.stderr.trim().split("\n").filter((l) => !l.startsWith("(run with --help"));
    assert.equal(lines.length, 1, `${args.join(" ")}: ${r.stderr}`);
    assert.match(lines[0], pattern);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  }
});

test("sweep: Ctrl-C stops the runs, keeps them resumable and exits 130", async () => {
  const dir = tmp();
  const out = join(dir, "out");
  const spec = join(dir, "long.yaml");
  // 1,024 steps: long enough to be interrupted after its first checkpoint.
  writeFileSync(spec, `out: ${out}\nbase: { d: 16, h: 16, layers: 2, experts: [2, 2], epochs: 8, batchSize: 32, trainLimit: 4096, testLimit: 100, evalBatchSize: 100, logEvery: 4, checkpointEvery: 8 }\ngrid:\n  router: [topk, switch]\n`);
  const child = spawn(process.execPath, [...CLI, "sweep", spec], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  child.stdout.on("data", (d) => (stdout += String(d)));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const ckpt = join(out, "router=switch,seed=0", "checkpoint.safetensors");
  const started = performance.now();
  while (!existsSync(ckpt)) {
    assert.ok(performance.now() - started < 60_000, "no checkpoint within a minute");
    await new Promise((r) => setTimeout(r, 20));
  }
  child.kill("SIGINT");
  // A run that does not stop at the first interrupt is killed at the second.
  const early = await Promise.race([exited, new Promise((r) => setTimeout(() => r("running"), 1500))]);
  if (early === "running") child.kill("SIGINT");
  assert.equal(await exited, 130);
  assert.match(stdout, /interrupted: run the same command again to resume/);
  assert.match(stdout, /1 stopped by the interrupt, 1 not started/);
  assert.ok(!existsSync(join(out, "router=switch,seed=0", "summary.json")));
  const dry = run(["sweep", spec, "--dry-run"]);
  assert.match(dry.stdout, /resume  router=switch,seed=0\nnew {5}router=topk,seed=0\n/);
});
