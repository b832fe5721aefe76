import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { CLI, ROOT, run, assertOneLineErrors } from "./runCli.js";

const tmp = () => mkdtempSync(join(tmpdir(), "dynamoe-cli-"));

test("--help works for the program and each command", () => {
  for (const args of [["--help"], ["train", "--help"], ["eval", "--help"], ["data", "fetch", "--help"]]) {
    const r = run(args);
    assert.equal(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stdout, /Usage: dynamoe/);
  }
  assert.match(run(["train", "--help"]).stdout, /--schedule <kind>.*\n?.*uniform/);
});

test("reproduce paper --only images --dry-run writes and lists the image sweeps only", () => {
  const out = join(tmp(), "r");
  const r = run(["reproduce", "paper", "--only", "images", "--dry-run", "--out", out]);
  assert.equal(r.code, 0, r.stderr);
  for (const name of ["images-mnist", "images-fashion-mnist", "images-cifar10"]) assert.ok(existsSync(join(out, "specs", `${name}.yaml`)), name);
  assert.ok(!existsSync(join(out, "specs", "lm-tiny.yaml")));
  assert.doesNotMatch(r.stdout, /scale=/);
});

test("a user's mistake prints one line and exits non-zero, without a stack trace", () => {
  const dir = tmp();
  writeFileSync(join(dir, "bad-key.json"), JSON.stringify({ d: 64, bogus: 1 }));
  writeFileSync(join(dir, "bad-type.json"), JSON.stringify({ router: { tau: "fifty" } }));
  writeFileSync(join(dir, "not-json.json"), "{ d: ");
  const cases: [string[], RegExp][] = [
    [["train", "--frobnicate"], /unknown option '--frobnicate'/],
    [["train", "--dataset", "imagenet"], /unknown dataset "imagenet": the choices are mnist, fashion-mnist, cifar10, or a folder of images/],
    [["train", "--epochs", "two"], /--epochs must be an integer/],
    [["train", "--experts", "8,x,4"], /--experts must be a comma-separated list/],
    [["train", "--experts", "8,4"], /config.experts: has 2 entries but layers is 4/],
    [["train", "--config", join(dir, "bad-key.json")], /config: unknown key\(s\) "bogus"/],
    [["train", "--config", join(dir, "bad-type.json")], /config.router.tau: .*expected number/],
    [["train", "--config", join(dir, "not-json.json")], /not a JSON or YAML object/],
    [["train", "--config", join(dir, "missing.json")], /file not found/],
    [["train", "--threads", "0"], /--threads must be a positive integer/],
    [["train", "--layer-routers", "switch,bogus"], /--layer-routers: unknown router "bogus"/],
    [["train", "--layer-routers", "switch,topk"], /config.layerRouters: has 2 entries but layers is 4/],
    [["train", "--dispatch", "scatter"], /argument 'scatter' is invalid/],
    [["train", "--dispatch-capacity", "-1"], /--dispatch-capacity must be "exact" or a positive number/],
    [["eval", "--run", join(dir, "nowhere")], /not a dynamoe run folder/],
    [["data", "fetch", "imagenet"], /unknown dataset "imagenet"/],
    [["bogus-command"], /unknown command 'bogus-command'/],
    [["reproduce", "paper", "--only", "bogus", "--out", join(dir, "r")], /--only must be images, routers, lm or a sweep name \(.*lm-tiny.*\); got "bogus"/],
  ];
  assertOneLineErrors(cases);
});

// A small MoE that takes a few seconds: 256 steps of batch 32 on 4,096 MNIST images.
const SMALL = { d: 32, h: 32, layers: 2, experts: [4, 2], epochs: 2, batchSize: 32, trainLimit: 4096, testLimit: 1000, evalBatchSize: 500, logEvery: 4, checkpointEvery: 8, warmupSteps: 4 };

const comparable = (dir: string) =>
  readFileSync(join(dir, "metrics.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => {
      const { stepMs: _s, ...rest } = JSON.parse(l) as Record<string, unknown>;
      return rest;
    });

test("train, kill -9, --resume: ends exactly as an uninterrupted run; eval re-evaluates it", async () => {
  const dir = tmp();
  const cfg = join(dir, "small.json");
  writeFileSync(cfg, JSON.stringify(SMALL));
  const whole = join(dir, "whole");
  const r = run(["train", "--config", cfg, "--out", whole, "--seed", "5"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /test accuracy\s+\d+\.\d\d%/);
  assert.match(r.stdout, /parameters\s+38,506/);
  assert.match(r.stdout, /active per layer\s+2\.00, 1\.00/);

  const killed = join(dir, "killed");
  const child = spawn(process.execPath, [...CLI, "train", "--config", cfg, "--out", killed, "--seed", "5"], { cwd: ROOT, stdio: "ignore" });
  const ckpt = join(killed, "checkpoint.safetensors");
  // Kill as soon as a mid-run checkpoint exists (and metric lines may run past it).
  await new Promise<void>((resolve, reject) => {
    const timer = setInterval(() => {
      if (existsSync(ckpt)) {
        clearInterval(timer);
        child.kill("SIGKILL");
        resolve();
      }
    }, 20);
    child.on("exit", () => {
      clearInterval(timer);
      reject(new Error("the run ended before it could be killed"));
    });
  });
  await new Promise((res) => child.on("exit", res));
  assert.ok(!existsSync(join(killed, "summary.json")), "the run must have been killed before finishing");
  const resumed = run(["train", "--resume", killed]);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stderr, /resuming at step \d+/);
  assert.deepEqual(comparable(killed), comparable(whole));
  assert.equal(readFileSync(join(killed, "summary.json"), "utf8").includes('"steps": 256'), true);

  const ev = run(["eval", "--run", whole]);
  assert.equal(ev.code, 0, ev.stderr);
  const acc = JSON.parse(readFileSync(join(whole, "summary.json"), "utf8")).test.accuracy as number;
  assert.match(ev.stdout, new RegExp(`test accuracy\\s+${(100 * acc).toFixed(2)}%`));
});

test("output into a closed pipe stops quietly, without an EPIPE stack trace", async () => {
  const child = spawn(process.execPath, [...CLI, "train", "--help"], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  child.stdout.destroy(); // the reader is gone before the first line is written
  let stderr = "";
  child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
  const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
  assert.equal(code, 0, stderr);
  assert.doesNotMatch(stderr, /EPIPE|\n\s+at /);
});

test("eval and generate take the run folder as an argument, or by the older --run; a typo's suggestion stays on the one error line", () => {
  assertOneLineErrors([
    [["eval"], /^dynamoe: eval: which run\? give its folder: dynamoe eval RUN$/],
    [["eval", "a", "--run", "b"], /two run folders given \(a and --run b\)/],
    [["generate", "/nonexistent-run"], /nonexistent-run/],
    [["trian"], /unknown command 'trian' \(Did you mean train\?\)/],
    [["train", "--routr", "x"], /unknown option '--routr' \(Did you mean --router\?\)/],
  ]);
});

test("--set reaches any key (dotted, values read as YAML) over the flags and a YAML --config; mistakes are one line", async () => {
  const { configFromFlags } = await import("../../src/cli/trainCommand.js");
  const { resolveConfig } = await import("../../src/train/config.js");
  const dir = mkdtempSync(join(tmpdir(), "dynamoe-set-"));
  const yamlFile = join(dir, "c.yaml");
  writeFileSync(yamlFile, "d: 48\nrouter:\n  kind: topk\n  k: 3\n");
  const c = resolveConfig(configFromFlags({ config: yamlFile, router: "switch", set: ["router.tau=30", "experts=[8, 4, 4, 2]", "keepBest=true", "h=96"] }));
  assert.equal(c.d, 48); // from the YAML file
  assert.equal(c.h, 96);
  assert.deepEqual([c.router.kind, c.router.k, c.router.tau], ["switch", 3, 30]); // the flag over the file, --set over both
  assert.deepEqual(c.experts, [8, 4, 4, 2]);
  assert.equal(c.keepBest, true);
  const fine = resolveConfig(configFromFlags({ router: "aux-free", segments: 4, sharedExperts: 1 }));
  assert.deepEqual([fine.router.kind, fine.segments, fine.sharedExperts], ["aux-free", 4, 1]); // --segments, --shared-experts
  assertOneLineErrors([
    [["train", "--set", "bogus=1"], /config: unknown key\(s\) "bogus"/],
    [["train", "--set", "d"], /--set d: expected key=value/],
    [["train", "--set", "router.tau=500"], /config\.router\.tau: Too big/],
    [["train", "--segments", "0"], /--segments must be/],
    [["train", "--router", "remoe", "--set", "router.biasRate=0.01"], /config\.router\.biasRate: the balancing bias shifts/],
  ]);
});

test("bin/dynamoe.js runs the CLI, from dist/ when built and from the sources through tsx when not (a fresh clone)", async () => {
  const { spawnSync } = await import("node:child_process");
  const r = spawnSync(process.execPath, [join(ROOT, "bin/dynamoe.js"), "--version"], { cwd: ROOT, encoding: "utf8", timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).version);
});

test("dynamoe compare: the configuration keys that differ, then both runs' numbers; --json", async () => {
  const { writeFixtureRun, SMALL } = await import("../report/fixtures.js");
  const dir = mkdtempSync(join(tmpdir(), "dynamoe-compare-"));
  const a = writeFixtureRun(dir, { name: "a", config: { ...SMALL, model: "moe", router: { kind: "topk", k: 2 } }, accuracy: 0.91, kHists: [[0, 0, 10, 0, 0], [0, 0, 10, 0, 0]] });
  const b = writeFixtureRun(dir, { name: "b", config: { ...SMALL, model: "moe", router: { kind: "topk", k: 3 }, seed: 1 }, accuracy: 0.93, kHists: [[0, 0, 0, 10, 0], [0, 0, 0, 10, 0]] });
  const r = run(["compare", a, b]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^router\.k\s+2\s+3$/m);
  assert.match(r.stdout, /^seed\s+0\s+1$/m);
  assert.doesNotMatch(r.stdout, /^d\s/m); // equal keys are not listed
  assert.match(r.stdout, /^test accuracy %\s+91(\.0+)?\s+93(\.0+)?$/m);
  assert.doesNotMatch(r.stdout, /validation accuracy/); // neither run has one
  const j = JSON.parse(run(["compare", a, b, "--json"]).stdout);
  assert.deepEqual(j.config.map((d: { key: string }) => d.key), ["router.k", "seed"]);
  assert.equal(j.numbers.b["test accuracy %"], 93);
  assertOneLineErrors([[["compare", a, join(dir, "nope")], /nope: not a dynamoe run folder/]]);
});

test("results --json and inspect --json print what the tables show, as JSON", async () => {
  const { writeImageCollection } = await import("../report/fixtures.js");
  const dir = mkdtempSync(join(tmpdir(), "dynamoe-json-"));
  writeImageCollection(dir);
  const groups = JSON.parse(run(["results", dir, "--json"]).stdout) as { group: string; accuracy_mean: number; accuracy_std: number | null; n: number; config: { d: number } }[];
  const uniform = groups.find((g) => g.group.includes("uniform"))!;
  assert.deepEqual([uniform.accuracy_mean, uniform.accuracy_std, uniform.n, uniform.config.d], [91, 1, 3, 8]);
  const runDir = join(dir, "images", "uniform-seed0");
  const r = JSON.parse(run(["inspect", runDir, "--json"]).stdout) as { routing: { experts: number; kHist: number[] }[] };
  assert.equal(r.routing.length, 2);
  assert.equal(r.routing[0].kHist.length, r.routing[0].experts + 1);
});

test("each command's help ends with examples; train's shows the defaults", () => {
  const help = run(["train", "--help"]).stdout;
  assert.match(help, /training epochs \(default 3\)/);
  assert.match(help, /Examples:\n(.*\n)*\s+\$ dynamoe train --data my-images\//);
  for (const cmd of ["eval", "predict", "export", "board", "compare", "archive", "sweep"]) assert.match(run([cmd, "--help"]).stdout, new RegExp(`Examples:\\n\\s+\\$ dynamoe ${cmd} `), cmd);
});
