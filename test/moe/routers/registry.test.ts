/**
 * The rule registry is the one definition of each router's facts: the config schema's defaults, the
 * CLI's choices and help, the draw schedule, the dispatch bound and the docs table are read from it.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { routerDraws } from "../../../src/moe/drawSchedule.js";
import { DEFAULT_ROUTER, maxActiveExperts, ROUTER_KINDS, ROUTING_RULES, routerDefaults } from "../../../src/moe/routers/registry.js";
import { ROUTER_KEY_DEFAULTS } from "../../../src/moe/routing.js";
import { defaultConfig, resolveConfig } from "../../../src/train/config.js";
import { ROUTERS_PAGE, withTable } from "../../../scripts/routersTable.js";
import { run } from "../../cli/runCli.js";

test("each rule's record names its own kind, and its defaults are only of known keys", () => {
  for (const kind of ROUTER_KINDS) {
    const rule = ROUTING_RULES[kind];
    assert.equal(rule.kind, kind);
    for (const key of [...Object.keys(rule.defaults), ...rule.keys]) assert.ok(key in ROUTER_KEY_DEFAULTS, `${kind}: unknown key ${key}`);
  }
});

test("the config schema's router defaults are the registry's, for every kind and per layer", () => {
  assert.deepEqual(defaultConfig().router, DEFAULT_ROUTER);
  for (const kind of ROUTER_KINDS) {
    assert.deepEqual(resolveConfig({ router: { kind } }).router, routerDefaults(kind), kind);
    const perLayer = resolveConfig({ layers: 2, layerRouters: [{ kind }, { kind: "topk", k: 3 }] }).layerRouters!;
    assert.deepEqual(perLayer[0], routerDefaults(kind), `${kind} as a layer router`);
    assert.deepEqual(perLayer[1], { ...routerDefaults("topk"), k: 3 });
  }
  // A value given for a key beats the kind's default.
  assert.equal(resolveConfig({ router: { kind: "switch", temperature: 0.7 } }).router.temperature, 0.7);
  assert.equal(resolveConfig({ router: { kind: "switch" } }).router.jitter, 0.01);
});

test("the draw schedule follows the facts: jitter when set, noise for noisy rules, the rule's own draw", () => {
  for (const kind of ROUTER_KINDS) {
    const rule = ROUTING_RULES[kind];
    const draws = routerDraws({ ...routerDefaults(kind), jitter: 0.1, noise: 0.1 }, 8);
    assert.deepEqual(draws, ["jitter", ...(rule.noisy ? ["noise"] : []), ...(rule.ownDraw?.(8) ? ["rule"] : [])], kind);
    assert.deepEqual(routerDraws({ ...routerDefaults(kind), jitter: 0, noise: 0 }, 1), [], `${kind} without jitter or noise, one expert`);
    assert.ok(maxActiveExperts(8, routerDefaults(kind)) >= 1 && maxActiveExperts(8, routerDefaults(kind)) <= 8, kind);
  }
});

test("docs/routers.md's table is the one the registry makes (npm run docs:routers)", () => {
  const page = readFileSync(ROUTERS_PAGE, "utf8");
  assert.equal(withTable(page), page, "docs/routers.md is out of date with src/moe/routers/: run npm run docs:routers");
});

test("dynamoe train --help lists every router with its summary, and --engine says which routers run natively", () => {
  const r = run(["train", "--help"]);
  assert.equal(r.code, 0, r.stderr);
  for (const kind of ROUTER_KINDS) assert.ok(r.stdout.includes(ROUTING_RULES[kind].summary.slice(0, 40)), `${kind} missing from --help`);
  const natively = ROUTER_KINDS.filter((k) => ROUTING_RULES[k].host);
  assert.match(r.stdout.replace(/\s+/g, " "), new RegExp(natively.join(", ")));
});
