/**
 * The layering of src/ (`.dependency-cruiser.cjs`): imports run one way, engine ← moe ← models ←
 * steps ← train ← cli, with no cycles. dependency-cruiser checks the real tree, and a planted
 * upward import and a planted cycle show that the rules catch what they are for.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { test } from "node:test";

const ROOT = new URL("../../", import.meta.url).pathname;
const DEPCRUISE = join(ROOT, "node_modules/dependency-cruiser/bin/dependency-cruise.mjs");

function cruise(cwd: string) {
  const r = spawnSync(process.execPath, [DEPCRUISE, "src", "--config", ".dependency-cruiser.cjs", "--output-type", "err"], { cwd, encoding: "utf8", timeout: 120_000 });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

test("src/ imports only downward and has no import cycles", () => {
  const r = cruise(ROOT);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /no dependency violations found \(\d{3,} modules/);
});

test("the layer rules catch an upward import, a cycle and a folder outside the layers", () => {
  const tmp = mkdtempSync(join(tmpdir(), "dynamoe-layers-"));
  cpSync(join(ROOT, ".dependency-cruiser.cjs"), join(tmp, ".dependency-cruiser.cjs"));
  cpSync(join(ROOT, "tsconfig.json"), join(tmp, "tsconfig.json"));
  const file = (path: string, text: string) => {
    mkdirSync(dirname(join(tmp, path)), { recursive: true });
    writeFileSync(join(tmp, path), text);
  };
  file("src/train/loop.ts", "export const loop = 1;\n");
  file("src/moe/router.ts", 'import { loop } from "../train/loop.js";\nexport const r = loop;\n');
  file("src/models/a.ts", 'import { b } from "./b.js";\nexport const a = () => b;\n');
  file("src/models/b.ts", 'import { a } from "./a.js";\nexport const b = () => a;\n');
  file("src/native/step.ts", 'import { loop } from "../train/loop.js";\nexport const s = loop;\n');
  const r = cruise(tmp);
  assert.notEqual(r.code, 0);
  assert.match(r.out, /no-upward-from-moe: src\/moe\/router\.ts → src\/train\/loop\.ts/);
  assert.match(r.out, /no-circular/);
  assert.match(r.out, /no-unknown-folder: src\/native\/step\.ts/);
});
