import assert from "node:assert/strict";
import { test } from "node:test";
import { splitDocuments } from "../../../src/data/text/split.js";

test("the split is disjoint, covers every document, and is sorted", () => {
  for (const n of [2, 3, 9, 10, 11, 233]) {
    for (const validationFraction of [0.01, 0.1, 0.5, 0.99]) {
      const { train, validation } = splitDocuments(n, { seed: 7, validationFraction });
      assert.ok(train.length >= 1 && validation.length >= 1, `n=${n} f=${validationFraction}`);
      assert.deepEqual([...train, ...validation].sort((a, b) => a - b), Array.from({ length: n }, (_, i) => i));
      assert.deepEqual(train, [...train].sort((a, b) => a - b));
      assert.deepEqual(validation, [...validation].sort((a, b) => a - b));
    }
  }
});

test("validation gets round(n * fraction) documents, 10% by default", () => {
  assert.equal(splitDocuments(233, { seed: 0 }).validation.length, 23);
  assert.equal(splitDocuments(18, { seed: 0 }).validation.length, 2);
  assert.equal(splitDocuments(10, { seed: 0, validationFraction: 0.25 }).validation.length, 3);
  assert.equal(splitDocuments(2, { seed: 0, validationFraction: 0.01 }).validation.length, 1);
  assert.equal(splitDocuments(2, { seed: 0, validationFraction: 0.99 }).train.length, 1);
});

test("the same seed gives the same split; other seeds give others", () => {
  assert.deepEqual(splitDocuments(100, { seed: 3 }), splitDocuments(100, { seed: 3 }));
  const seen = new Set([0, 1, 2, 3, 4].map((seed) => splitDocuments(100, { seed }).validation.join(",")));
  assert.equal(seen.size, 5);
});

test("too few documents or a bad fraction is a user error", () => {
  assert.throws(() => splitDocuments(1, { seed: 0 }), { name: "DataError", message: "a train/validation split needs at least 2 documents, the corpus has 1" });
  for (const validationFraction of [0, 1, -0.1, Number.NaN]) {
    assert.throws(() => splitDocuments(10, { seed: 0, validationFraction }), { name: "UserError", message: /^validation fraction must be between 0 and 1/ });
  }
});
