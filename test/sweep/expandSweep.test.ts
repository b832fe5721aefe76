import assert from "node:assert/strict";
import { test } from "node:test";
import { UserError } from "../../src/errors.js";
import { crossProduct, deepMerge, expandDottedKeys, expandSweep } from "../../src/sweep/expandSweep.js";
import { parseSweepSpec } from "../../src/sweep/spec.js";
import { resolveConfig } from "../../src/train/config.js";

const spec = (yaml: string) => parseSweepSpec(yaml, "t.yaml");

test("crossProduct, deepMerge and dotted keys", () => {
  assert.deepEqual(crossProduct({ a: [1, 2], b: ["x", "y", "z"] }).length, 6);
  assert.deepEqual(crossProduct({}), [{}]);
  assert.deepEqual(crossProduct({ a: [1, 2], b: [3] }), [{ a: 1, b: 3 }, { a: 2, b: 3 }]);
  assert.deepEqual(deepMerge({ router: { kind: "topk", k: 2 }, experts: [1, 2] }, { router: { k: 3 }, experts: [4] }), { router: { kind: "topk", k: 3 }, experts: [4] });
  assert.deepEqual(expandDottedKeys({ "router.kind": "top-p", "router.p": 0.9, d: 8 }), { router: { kind: "top-p", p: 0.9 }, d: 8 });
});

test("the grid is the cross product of its axes, × seeds, sorted by id, each over base", () => {
  const runs = expandSweep(spec("base: { dataset: mnist, epochs: 1 }\ngrid:\n  schedule: [uniform, descending]\n  router: [percentile, topk, switch]\nseeds: [0, 1]"));
  assert.equal(runs.length, 12);
  assert.deepEqual(
    runs.map((r) => r.id),
    [...runs.map((r) => r.id)].sort(),
  );
  assert.equal(new Set(runs.map((r) => r.id)).size, 12);
  const r = runs.find((r) => r.id === "router=switch,schedule=descending,seed=1")!;
  assert.deepEqual(r.config, { dataset: "mnist", epochs: 1, router: { kind: "switch" }, schedule: "descending", seed: 1 });
  assert.deepEqual(r.vary, { schedule: "descending", router: { kind: "switch" } });
  assert.equal(r.source, "grid");
  // What a run gets is exactly what `dynamoe train --config` resolves.
  assert.equal(resolveConfig(r.config).router.kind, "switch");
});

test("include adds single runs over base, also × seeds; without axes the grid adds nothing", () => {
  const runs = expandSweep(spec("base: { epochs: 1 }\ngrid:\n  router: [topk]\ninclude:\n  - { model: dense }\n  - { model: moe, experts: [8, 4, 4, 2] }\nseeds: [0, 3]"));
  assert.deepEqual(
    runs.map((r) => r.id),
    ["experts=8-4-4-2,model=moe,seed=0", "experts=8-4-4-2,model=moe,seed=3", "model=dense,seed=0", "model=dense,seed=3", "router=topk,seed=0", "router=topk,seed=3"],
  );
  assert.deepEqual(runs[0].config, { epochs: 1, model: "moe", experts: [8, 4, 4, 2], seed: 0 });
  assert.equal(runs[0].source, "include.1");
  const onlyInclude = expandSweep(spec("include:\n  - { model: dense }"));
  assert.deepEqual(onlyInclude.map((r) => r.id), ["model=dense,seed=0"]);
  const onlyBase = expandSweep(spec("base: { model: dense }\nseeds: [0, 1]"));
  assert.deepEqual(onlyBase.map((r) => [r.id, r.config]), [["seed=0", { model: "dense", seed: 0 }], ["seed=1", { model: "dense", seed: 1 }]]);
});

test("nested values, dotted keys and router shorthands merge over base's nested keys", () => {
  const runs = expandSweep(
    spec(
      [
        "base: { router: { temperature: 0.7 } }",
        "grid:",
        "  router:",
        "    - { kind: top-p, p: 0.9 }",
        "    - { kind: switch }",
        "    - topk",
        "  router.noise: [0, 0.2]",
      ].join("\n"),
    ),
  );
  assert.equal(runs.length, 6);
  const topP = runs.find((r) => r.id === "router.kind=top-p,router.noise=0.2,router.p=0.9,seed=0")!;
  assert.deepEqual(topP.config.router, { temperature: 0.7, kind: "top-p", p: 0.9, noise: 0.2 });
  const topk = runs.find((r) => r.id === "router.kind=topk,router.noise=0,seed=0")!;
  assert.deepEqual(topk.config.router, { temperature: 0.7, kind: "topk", noise: 0 });
  const resolved = resolveConfig(topP.config);
  assert.equal(resolved.router.p, 0.9);
  assert.equal(resolved.router.temperature, 0.7);
  // layerRouters take kinds as the --layer-routers flag does.
  const [lr] = expandSweep(spec("base: { layerRouters: [switch, switch, top-p, { kind: top-p, p: 0.5 }] }"));
  assert.deepEqual(resolveConfig(lr.config).layerRouters!.map((r) => [r.kind, r.p]), [["switch", 0.4], ["switch", 0.4], ["top-p", 0.4], ["top-p", 0.5]]);
});

test("an invalid combination fails the whole sweep up front, naming the run", () => {
  const check = (yaml: string, pattern: RegExp) =>
    assert.throws(() => expandSweep(spec(yaml)), (e: unknown) => e instanceof UserError && pattern.test(e.message), yaml);
  // Only one combination is invalid (3 layers with a 4-entry experts list).
  check("grid:\n  layers: [4, 3]\n  experts: [[8, 4, 4, 2]]", /^t: run experts=8-4-4-2,layers=3,seed=0 \(grid\): config\.experts: has 4 entries but layers is 3$/);
  check("grid:\n  bogus: [1]", /^t: run bogus=1,seed=0 \(grid\): config: unknown key\(s\) "bogus"$/);
  check("include:\n  - { router: { kind: top-p, tau: 500 } }", /run router\.kind=top-p,router\.tau=500,seed=0 \(include\.0\): config\.router\.tau: Too big/);
  check("grid:\n  router: [nope]", /run router=nope,seed=0 \(grid\): config\.router\.kind: /);
});

test("a run listed twice, or spelled two ways, is kept once", () => {
  const runs = expandSweep(spec("base: { epochs: 1 }\ngrid:\n  model: [dense, moe]\ninclude:\n  - { model: dense }"));
  assert.deepEqual(runs.map((r) => r.id), ["model=dense,seed=0", "model=moe,seed=0"]);
  // One run however it is spelled: shorthand, nested or dotted.
  const spellings = expandSweep(spec("grid:\n  router: [topk, { kind: topk }]\ninclude:\n  - { router.kind: topk }"));
  assert.deepEqual(spellings.map((r) => r.id), ["router=topk,seed=0"]);
});
