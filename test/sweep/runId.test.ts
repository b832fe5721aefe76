import assert from "node:assert/strict";
import { test } from "node:test";
import { MAX_ID_LENGTH, canonicalJson, runHash, runId } from "../../src/sweep/runId.js";

test("ids are key=value pairs sorted by key, seed last, whatever the key order", () => {
  assert.equal(runId({ schedule: "uniform", router: "switch" }, 1), "router=switch,schedule=uniform,seed=1");
  assert.equal(runId({ router: "switch", schedule: "uniform" }, 1), "router=switch,schedule=uniform,seed=1");
  assert.equal(runId({}, 0), "seed=0");
  assert.equal(runId({ router: { p: 0.9, kind: "top-p" }, lr: 1e-8 }, 2), "lr=1e-8,router.kind=top-p,router.p=0.9,seed=2");
  assert.equal(runId({ experts: [8, 4, 4, 2], attention: true }, 0), "attention=true,experts=8-4-4-2,seed=0");
  assert.equal(runId({ router: { kind: "switch" } }, 0), "router=switch,seed=0");
  assert.equal(runId({ layerRouters: [{ kind: "switch" }, { kind: "top-p", p: 0.5 }] }, 0), "layerRouters.0=switch,layerRouters.1.kind=top-p,layerRouters.1.p=0.5,seed=0");
  assert.equal(canonicalJson({ b: 1, a: { d: [1, { y: 2, x: 1 }], c: null } }), '{"a":{"c":null,"d":[1,{"x":1,"y":2}]},"b":1}');
});

test("unsafe characters become _ and add a hash, so distinct runs keep distinct ids", () => {
  const a = runId({ corpus: "data/my corpus.txt" }, 0);
  const b = runId({ corpus: "data/my_corpus.txt" }, 0);
  const c = runId({ corpus: "data_my_corpus.txt" }, 0);
  assert.match(a, /^corpus=data_my_corpus\.txt,seed=0~[0-9a-f]{8}$/);
  assert.match(b, /^corpus=data_my_corpus\.txt,seed=0~[0-9a-f]{8}$/);
  assert.equal(c, "corpus=data_my_corpus.txt,seed=0");
  assert.equal(new Set([a, b, c]).size, 3);
  for (const id of [a, b, c]) assert.match(id, /^[A-Za-z0-9._+=,~-]+$/);
});

test("long ids are cut and end in a hash; the hash is pinned so ids match on every machine", () => {
  const vary = { corpus: "x".repeat(300) };
  const id = runId(vary, 4);
  assert.equal(id.length, MAX_ID_LENGTH);
  assert.ok(id.startsWith("corpus=xxx"));
  assert.ok(id.endsWith(`~${runHash(vary, 4)}`));
  assert.notEqual(runId({ corpus: "x".repeat(301) }, 4), id);
  // `printf %s '...' | sha256sum` of '{"seed":1,"vary":{"router":"switch","schedule":"uniform"}}', first 8 hex digits.
  assert.equal(runHash({ schedule: "uniform", router: "switch" }, 1), "8d16b592");
});
