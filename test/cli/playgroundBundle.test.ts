/**
 * The Playground's browser bundle: it builds, holds no Node module (`node:` or a Node-only file of
 * ours), and runs the native step in place of `engine/preload.ts`'s browser twin.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { buildPlaygroundBundle } from "../../src/cli/playgroundBundle.js";

test("the playground's worker bundle imports no Node module", async () => {
  const { code, inputs } = await buildPlaygroundBundle();
  assert.deepEqual(inputs.filter((p) => p.startsWith("node:") || /^src\/(engine\/(preload|workerAdapter)|kernels\/nodeWorkers)\.ts$/.test(p)), []);
  for (const file of ["src/cli/playgroundWorker.ts", "src/engine/browserPreload.ts", "src/steps/nativeImageStep.ts", "src/kernels/mlpWasm.ts", "src/train/evaluate.ts"]) {
    assert.ok(inputs.includes(file), `${file} in the bundle`);
  }
  assert.doesNotMatch(code, /\brequire\("node:/);
});

test("the browser twin of engine/preload.ts exports every name it does", async () => {
  const node = Object.keys(await import("../../src/engine/preload.js"));
  const browser = Object.keys(await import("../../src/engine/browserPreload.js"));
  assert.deepEqual(node.filter((name) => !browser.includes(name)), []);
});
