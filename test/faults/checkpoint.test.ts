/**
 * Hostile checkpoints: every field of a run's checkpoint corrupted in turn (the header's structure,
 * each tensor's dtype, shape and offsets, the metadata, the values), and damaged run files. `eval`
 * and `train --resume` must each stop with one line naming the problem, never a stack trace or a
 * silent acceptance.
 */
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, test } from "node:test";
import { tree } from "../../src/engine/jax.js";
import { CHECKPOINT_FILE } from "../../src/train/checkpoint.js";
import { train } from "../../src/train/train.js";
import { run } from "../cli/runCli.js";
import { setup } from "../helpers.js";

before(setup);

const WORK = mkdtempSync(join(tmpdir(), "dynamoe-hostile-"));
const RUN = join(WORK, "run");
const CONFIG = { d: 16, h: 16, layers: 2, eMax: 4, eMin: 2, trainLimit: 256, testLimit: 100, batchSize: 64, epochs: 1, logEvery: 2, checkpointEvery: 2, seed: 1 };

type Header = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** The checkpoint with its JSON header rewritten by `edit` (the data section unchanged). */
function withHeader(buf: Buffer, edit: (h: Header) => unknown): Buffer {
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString("utf8")) as Header;
  const edited = edit(header);
  const json = Buffer.from(JSON.stringify(edited === undefined ? header : edited));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([len, json, buf.subarray(8 + n)]);
}

const firstParam = (h: Header) => Object.keys(h).find((k) => k.startsWith("params."))!;

/** Corruption, what is done to the file, the one line expected, and which commands read that field (both by default). */
const CASES: [string, (buf: Buffer) => Buffer, RegExp, ("eval" | "train")[]?][] = [
  ["empty file", () => Buffer.alloc(0), /corrupt safetensors file/],
  ["truncated in the data", (b) => b.subarray(0, b.length - 100), /truncated/],
  ["header length past the end", (b) => { const c = Buffer.from(b); c.writeBigUInt64LE(BigInt(b.length * 2), 0); return c; }, /runs past the end/],
  ["header is JSON null", (b) => withHeader(b, () => null), /header is not a JSON object/],
  ["header is a list", (b) => withHeader(b, () => [1, 2]), /header is not a JSON object/],
  ["a tensor described by null", (b) => withHeader(b, (h) => { h[firstParam(h)] = null; }), /not described by an object/],
  ["a tensor without offsets", (b) => withHeader(b, (h) => { delete h[firstParam(h)].data_offsets; }), /no valid data_offsets/],
  ["a tensor without a shape", (b) => withHeader(b, (h) => { delete h[firstParam(h)].shape; }), /no valid shape/],
  ["a negative shape", (b) => withHeader(b, (h) => { h[firstParam(h)].shape = [-1, 16]; }), /no valid shape/],
  ["a fractional shape", (b) => withHeader(b, (h) => { h[firstParam(h)].shape = [2.5, 16]; }), /no valid shape/],
  ["offsets reversed", (b) => withHeader(b, (h) => { const o = h[firstParam(h)].data_offsets; h[firstParam(h)].data_offsets = [o[1], o[0]]; }), /no valid data_offsets/],
  ["an unknown dtype", (b) => withHeader(b, (h) => { h[firstParam(h)].dtype = "F16"; }), /unsupported dtype/],
  ["an F32 tensor relabelled I32", (b) => withHeader(b, (h) => { h[firstParam(h)].dtype = "I32"; }), /is I32, a checkpoint holds F32/],
  ["the key relabelled F32", (b) => withHeader(b, (h) => { h["rng.key"].dtype = "F32"; }), /rng\.key is F32, a checkpoint holds U32/],
  ["a tensor missing", (b) => withHeader(b, (h) => { delete h[firstParam(h)]; }), /missing tensor/],
  ["metadata not strings", (b) => withHeader(b, (h) => { h.__metadata__ = { format: 1 }; }), /__metadata__ is not an object of strings/],
  ["not a dynamoe checkpoint", (b) => withHeader(b, (h) => { h.__metadata__.format = "other"; }), /not a dynamoe checkpoint/],
  ["progress not JSON", (b) => withHeader(b, (h) => { h.__metadata__.progress = "{"; }), /progress record is missing or not JSON/],
  ["a string step", (b) => withHeader(b, (h) => { h.__metadata__.progress = JSON.stringify({ step: "4", epoch: 1, batch: 0 }); }), /not three non-negative whole numbers/],
  ["a negative step", (b) => withHeader(b, (h) => { h.__metadata__.progress = JSON.stringify({ step: -4, epoch: 1, batch: 0 }); }), /not three non-negative whole numbers/],
  ["a step that does not fit the epochs", (b) => withHeader(b, (h) => { h.__metadata__.progress = JSON.stringify({ step: 3, epoch: 1, batch: 0 }); }), /does not fit 4 steps per epoch/, ["train"]],
  ["the logging window damaged", (b) => withHeader(b, (h) => { h.__metadata__.window = "{}"; }), /logging window is not a valid record/, ["train"]],
  ["a NaN weight", (b) => { const c = Buffer.from(b); const n = Number(c.readBigUInt64LE(0)); c.writeFloatLE(NaN, 8 + n); return c; }, /NaN or infinite/],
];

test("a finished run to corrupt", async () => {
  const r = await train(CONFIG, { outDir: RUN });
  tree.dispose(r.params);
});

test(`a corrupted checkpoint (${CASES.length} corruptions): one line from eval and from train --resume`, () => {
  const good = readFileSync(join(RUN, CHECKPOINT_FILE));
  for (const [name, corrupt, pattern, readers = ["eval", "train"]] of CASES) {
    const dir = join(WORK, name.replace(/\W+/g, "-"));
    cpSync(RUN, dir, { recursive: true });
    rmSync(join(dir, "summary.json"));
    writeFileSync(join(dir, CHECKPOINT_FILE), corrupt(good));
    for (const args of readers.map((c) => (c === "eval" ? ["eval", "--run", dir] : ["train", "--resume", dir]))) {
      const r = run(args);
      const lines = r.stderr.trim().split("\n").filter((l) => !l.startsWith("note:"));
      assert.notEqual(r.code, 0, `${name}: ${args[0]} accepted it`);
      assert.equal(lines.length, 1, `${name}: ${args[0]} printed:\n${r.stderr}`);
      assert.match(lines[0], pattern, `${name}: ${args[0]}`);
      assert.doesNotMatch(r.stderr, /\n\s+at /, `${name}: stack trace`);
    }
  }
});

test("damaged config.json, summary.json and metrics.jsonl: one line, and a torn last metric line is cut", () => {
  const config = [/config\.json: not valid JSON/, /config\.json: not a JSON object/, /config\.json: config\.d/];
  const cases: [string, string, string, RegExp, string[]][] = [
    ...(["{", "[]", JSON.stringify({ ...CONFIG, d: -1 })] as const).flatMap((text, i) => [
      [`config ${i} resume`, "config.json", text, config[i], ["train", "--resume"]] as [string, string, string, RegExp, string[]],
      [`config ${i} eval`, "config.json", text, config[i], ["eval", "--run"]] as [string, string, string, RegExp, string[]],
    ]),
    ["summary damaged", "summary.json", "{\"test\": null}", /summary\.json: damaged/, ["train", "--resume"]],
    ["metrics damaged in the middle", "metrics.jsonl", "{\"type\":\"train\",\"step\":2}\nnot json\n{\"type\":\"train\",\"step\":4}\n", /metrics\.jsonl line 2: not a JSON object/, ["inspect"]],
  ];
  for (const [name, file, text, pattern, cmd] of cases) {
    const dir = join(WORK, name.replace(/\W+/g, "-"));
    cpSync(RUN, dir, { recursive: true });
    if (file === "config.json") rmSync(join(dir, "summary.json"));
    writeFileSync(join(dir, file), text);
    const r = run([...cmd, dir]);
    assert.notEqual(r.code, 0, name);
    const lines = r.stderr.trim().split("\n");
    assert.equal(lines.length, 1, `${name}:\n${r.stderr}`);
    assert.match(lines[0], pattern, name);
  }
  // A torn last line (a kill mid-write) is not an error for readers: inspect reads the lines before it.
  const dir = join(WORK, "torn");
  cpSync(RUN, dir, { recursive: true });
  writeFileSync(join(dir, "metrics.jsonl"), readFileSync(join(RUN, "metrics.jsonl"), "utf8") + '{"type":"train","st');
  const r = run(["inspect", dir, "--no-plots"]);
  assert.equal(r.code, 0, r.stderr);
});
