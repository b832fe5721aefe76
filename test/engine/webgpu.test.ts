/**
 * `--device webgpu`: where the machine has a GPU adapter (through the `webgpu` package and Vulkan), a
 * short MNIST run trains on it; where it has none (CI, our CPU machines), the CLI says so in one line
 * and exits 1, without a stack trace.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { run } from "../cli/runCli.js";

async function adapterPresent(): Promise<boolean> {
  try {
    const { create } = (await import("webgpu")) as unknown as { create(f: string[]): { requestAdapter(): Promise<unknown> } };
    return (await create([]).requestAdapter()) !== null;
  } catch {
    return false;
  }
}

test("--device webgpu trains on a GPU adapter, or says plainly that there is none", async () => {
  const out = join(mkdtempSync(join(tmpdir(), "dynamoe-webgpu-")), "run");
  const r = run(["train", "--dataset", "mnist", "--max-steps", "2", "--device", "webgpu", "--out", out]);
  if (await adapterPresent()) {
    assert.equal(r.code, 0, r.stderr);
    const summary = JSON.parse(readFileSync(join(out, "summary.json"), "utf8"));
    assert.equal(summary.device, "webgpu");
    assert.ok(summary.steps === 2);
  } else {
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /^dynamoe: --device webgpu: no WebGPU adapter found/m);
    assert.doesNotMatch(r.stderr, /\n\s+at .*\.ts:\d+/, "no stack trace of ours");
  }
});

test("--device rejects an unknown device as a usage error", () => {
  const r = run(["train", "--device", "cuda", "--max-steps", "1"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--device/);
});
