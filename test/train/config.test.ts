/** The run configuration: per-layer routers merged over `router`, dispatch keys, one-line errors. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { UserError } from "../../src/errors.js";
import { resolveConfig } from "../../src/train/config.js";

test("layerRouters entries are overrides of router, validated, and re-resolve to the same config", () => {
  const c = resolveConfig({ router: { temperature: 1, k: 1 }, layerRouters: [{ kind: "switch" }, { kind: "topk" }, { kind: "top-p", p: 0.6 }, {}] });
  assert.deepEqual(
    c.layerRouters!.map((r) => [r.kind, r.temperature, r.k, r.p]),
    [
      ["switch", 1, 1, 0.4],
      ["topk", 1, 1, 0.4],
      ["top-p", 1, 1, 0.6],
      ["percentile", 1, 1, 0.4],
    ],
  );
  assert.deepEqual(resolveConfig(JSON.parse(JSON.stringify(c))), c, "a saved config resolves to itself");
  assert.equal(resolveConfig({}).layerRouters, undefined);
});

test("the temperature and jitter default by router kind (0.5 spec, 1 for the other papers' routers); explicit values win", () => {
  const t = (router: object) => resolveConfig({ router }).router.temperature;
  assert.equal(t({}), 0.5, "percentile");
  assert.equal(t({ kind: "topk" }), 0.5);
  assert.equal(t({ kind: "switch" }), 1);
  assert.equal(t({ kind: "top-p" }), 1);
  assert.equal(t({ kind: "switch", temperature: 0.7 }), 0.7);
  assert.equal(resolveConfig({ router: { kind: "switch" } }).router.jitter, 0.01, "Switch's input jitter");
  assert.equal(resolveConfig({ router: { kind: "gshard" } }).router.jitter, 0);
  assert.equal(resolveConfig({ router: { kind: "switch", jitter: 0 } }).router.jitter, 0);
  const layered = resolveConfig({ layerRouters: [{ kind: "gshard" }, {}, {}, { kind: "threshold" }] }).layerRouters!;
  assert.deepEqual(layered.map((r) => r.temperature), [1, 0.5, 0.5, 0.5]);
});

test("dispatch defaults to auto with exact capacity; bad values are one-line UserErrors", () => {
  const c = resolveConfig({});
  assert.equal(c.dispatch, "auto");
  assert.equal(c.dispatchCapacity, "exact");
  assert.equal(resolveConfig({ dispatch: "gather", dispatchCapacity: 2.5 }).dispatchCapacity, 2.5);
  const bad: [unknown, RegExp][] = [
    [{ layerRouters: [{ kind: "switch" }] }, /config.layerRouters: has 1 entries but layers is 4/],
    [{ layerRouters: [{ kind: "nope" }, {}, {}, {}] }, /config.layerRouters.0.kind/],
    [{ dispatch: "scatter" }, /config.dispatch/],
    [{ dispatchCapacity: -1 }, /config.dispatchCapacity/],
  ];
  for (const [input, pattern] of bad) {
    assert.throws(() => resolveConfig(input), (e: Error) => e instanceof UserError && pattern.test(e.message) && !e.message.includes("\n"), JSON.stringify(input));
  }
});
