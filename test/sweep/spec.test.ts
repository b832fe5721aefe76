import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { UserError } from "../../src/errors.js";
import { loadSweepSpec, parseSweepSpec } from "../../src/sweep/spec.js";

test("a spec parses with defaults for name, out, seeds", () => {
  const spec = parseSweepSpec("base: { dataset: mnist, epochs: 1 }\ngrid:\n  router: [topk, switch]\n", "specs/routers.yaml");
  assert.equal(spec.name, "routers");
  assert.equal(spec.out, join("runs", "sweeps", "routers"));
  assert.deepEqual(spec.seeds, [0]);
  assert.deepEqual(spec.base, { dataset: "mnist", epochs: 1 });
  assert.deepEqual(spec.grid, { router: ["topk", "switch"] });
  assert.equal(spec.include, undefined);
});

test("name, out, include, seeds and YAML 1.2 scalars come through as written", () => {
  const spec = parseSweepSpec(
    ["name: x", "out: /data/sweeps/x", "base: { lr: 1e-3, attention: true, corpus: 'yes' }", "include:", "  - { model: dense }", "seeds: [2, 0]"].join("\n"),
    "a.yml",
  );
  assert.equal(spec.name, "x");
  assert.equal(spec.out, "/data/sweeps/x");
  assert.deepEqual(spec.base, { lr: 0.001, attention: true, corpus: "yes" });
  assert.deepEqual(spec.include, [{ model: "dense" }]);
  assert.deepEqual(spec.seeds, [2, 0]);
});

test("every mistake is one line naming the file and the bad key", () => {
  const cases: [string, RegExp][] = [
    ["grd: { router: [topk] }", /^s\.yaml: unknown key\(s\) "grd" \(expected name, out, base, grid, include, seeds\)$/],
    ["grid: { router: topk }", /^s\.yaml: grid\.router: must be a list of values/],
    ["grid: { router: [] }", /^s\.yaml: grid\.router: must list at least one value/],
    ["grid: { router: [topk, topk] }", /^s\.yaml: grid\.router: value "topk" is listed twice/],
    ["seeds: [0, -1]", /^s\.yaml: seeds\.1: /],
    ["seeds: 3", /^s\.yaml: seeds: must be a list of non-negative integers/],
    ["seeds: [1, 1]", /^s\.yaml: seeds: 1 is listed twice/],
    ["base: { seed: 3 }", /^s\.yaml: base\.seed: set seeds with the top-level `seeds` list/],
    ["grid: { seed: [1, 2] }", /^s\.yaml: grid\.seed: set seeds/],
    ["include: [ { model: dense, seed: 1 } ]", /^s\.yaml: include\.0\.seed: set seeds/],
    ["include: { model: dense }", /^s\.yaml: include: must be a list of mappings/],
    ["base: [1, 2]", /^s\.yaml: base: must be a mapping of config keys/],
    ["include: [3]", /^s\.yaml: include\.0: must be a mapping of config keys/],
    ["name: 3", /^s\.yaml: name: /],
    ["- just\n- a list", /^s\.yaml: a sweep spec must be a YAML mapping/],
    ["", /^s\.yaml: a sweep spec must be a YAML mapping/],
    ["grid: { router: [topk, switch }", /^s\.yaml: not valid YAML at line 1, column \d+/],
    ["base: { d: 1 }\nbase: { d: 2 }", /^s\.yaml: not valid YAML at line 2, column 1 \(Map keys must be unique/],
  ];
  for (const [text, pattern] of cases) {
    assert.throws(
      () => parseSweepSpec(text, "dir/s.yaml"),
      (e: unknown) => e instanceof UserError && !e.message.includes("\n") && pattern.test(e.message),
      `${JSON.stringify(text)} should fail with ${pattern}`,
    );
  }
});

test("loadSweepSpec reads a file and says when it is missing", () => {
  const dir = mkdtempSync(join(tmpdir(), "dynamoe-spec-"));
  writeFileSync(join(dir, "grid.yaml"), "seeds: [0, 1]\n");
  assert.deepEqual(loadSweepSpec(join(dir, "grid.yaml")).seeds, [0, 1]);
  assert.throws(() => loadSweepSpec(join(dir, "nope.yaml")), /nope\.yaml: sweep spec not found/);
});

test("the example spec in examples/sweeps parses", () => {
  const spec = loadSweepSpec(new URL("../../examples/sweeps/routers-mnist.yaml", import.meta.url).pathname);
  assert.equal(spec.name, "routers-mnist");
});
