import assert from "node:assert/strict";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { test } from "node:test";
import { gpt2Tokenizer, tokenCacheKey, tokenizeDocuments } from "../../../src/data/text/tokenize.js";
import { tempDir } from "../fixtures.js";

test("GPT-2 ids for known strings, and decode(encode(text)) == text", () => {
  const tok = gpt2Tokenizer();
  assert.equal(tok.vocabSize, 50257);
  assert.equal(tok.eot, 50256);
  assert.deepEqual(tok.encode("Hello world"), [15496, 995]);
  assert.deepEqual(tok.encode(" the"), [262]);
  assert.equal(tok.decode([15496, 995, 50256]), "Hello world<|endoftext|>");
  for (const text of ["Hello world", "  spaces\tand\ttabs\n\nnew lines  ", "é naïve — “quotes” 🌍 中文", "x".repeat(1000), ""]) {
    assert.equal(tok.decode(tok.encode(text)), text);
  }
  // A corpus quoting the special token is ordinary text: no throw, and no id 50256.
  const quoted = tok.encode("a <|endoftext|> b");
  assert.ok(!quoted.includes(50256));
  assert.equal(tok.decode(quoted), "a <|endoftext|> b");
});

test("documents are joined with the end-of-text token, and progress is reported per document", async () => {
  const tok = gpt2Tokenizer();
  const docs = ["Hello world", "The cat sat.", "é 🌍"];
  const calls: [number, number][] = [];
  const out = await tokenizeDocuments(docs, { dir: tempDir(), onProgress: (done, total) => calls.push([done, total]) });
  assert.equal(out.fromCache, false);
  assert.ok(out.tokens instanceof Uint16Array);
  assert.deepEqual(Array.from(out.tokens), [...tok.encode(docs[0]), 50256, ...tok.encode(docs[1]), 50256, ...tok.encode(docs[2])]);
  assert.equal(tok.decode(out.tokens), docs.join("<|endoftext|>"));
  assert.deepEqual(calls, [[1, 3], [2, 3], [3, 3]]);
  assert.deepEqual((await tokenizeDocuments([], { dir: tempDir() })).tokens, new Uint16Array(0));
});

test("the second call reads the cache file; a damaged cache file is rebuilt", async () => {
  const dir = tempDir();
  const docs = Array.from({ length: 20 }, (_, i) => `Document number ${i}. `.repeat(50));
  const first = await tokenizeDocuments(docs, { dir });
  assert.equal(first.fromCache, false);
  assert.ok(first.path.startsWith(dir));
  let progress = 0;
  const t0 = performance.now();
  const second = await tokenizeDocuments(docs, { dir, onProgress: () => progress++ });
  assert.ok(performance.now() - t0 < 1000);
  assert.equal(second.fromCache, true);
  assert.equal(second.path, first.path);
  assert.equal(progress, 0);
  assert.deepEqual(second.tokens, first.tokens);

  const bytes = readFileSync(first.path);
  writeFileSync(first.path, bytes.subarray(0, bytes.length - 10));
  const rebuilt = await tokenizeDocuments(docs, { dir });
  assert.equal(rebuilt.fromCache, false);
  assert.deepEqual(rebuilt.tokens, first.tokens);
  assert.equal(statSync(first.path).size, bytes.length);
  assert.equal((await tokenizeDocuments(docs, { dir })).fromCache, true);
});

test("the cache key changes with the text, the document boundaries and the tokenizer", () => {
  const k = (docs: string[], name = "gpt2") => tokenCacheKey(docs, name).toString("hex");
  assert.equal(k(["ab", "c"]), k(["ab", "c"]));
  assert.notEqual(k(["ab", "c"]), k(["a", "bc"]));
  assert.notEqual(k(["ab", "c"]), k(["abc"]));
  assert.notEqual(k(["ab", "c"]), k(["ab", "c", ""]));
  assert.notEqual(k(["ab", "c"]), k(["ab", "c"], "other"));
});
