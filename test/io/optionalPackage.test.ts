import assert from "node:assert/strict";
import { test } from "node:test";
import { importOptional, requireOptional } from "../../src/io/optionalPackage.js";
import { UserError } from "../../src/errors.js";

test("a missing optional package is one line naming the install; an installed one loads", async () => {
  assert.throws(() => requireOptional("dynamoe-no-such-package/sub", "doing X"), (e: unknown) => e instanceof UserError && e.message === "doing X needs the package dynamoe-no-such-package, which is not installed: npm install dynamoe-no-such-package");
  await assert.rejects(importOptional("@dynamoe-none/pkg", "drawing"), /drawing needs the package @dynamoe-none\/pkg, which is not installed: npm install @dynamoe-none\/pkg/);
  assert.equal(typeof requireOptional<{ extract: unknown }>("tar-stream", "x").extract, "function");
  assert.equal(typeof (await importOptional<{ View: unknown }>("vega", "x")).View, "function");
});
