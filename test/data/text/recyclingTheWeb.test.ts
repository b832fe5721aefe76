import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { after, afterEach, before, beforeEach, test } from "node:test";
import { parquetWriteFile } from "hyparquet-writer";
import type { DownloadProgress } from "../../../src/data/download.js";
import { loadCorpus } from "../../../src/data/text/corpus.js";
import {
  fetchRecyclingTheWeb,
  RECYCLING_THE_WEB_1K,
  RECYCLING_THE_WEB_URL_ENV,
  readRecyclingTheWebManifest,
  recyclingTheWebDir,
} from "../../../src/data/text/recyclingTheWeb.js";
import { tempDir } from "../fixtures.js";

const NAME = "recycling-the-web-1k";
const ROOT = new URL("../../../", import.meta.url).pathname;
const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");

/** A parquet file with an `id` column and a `text` column holding `texts`. */
function writeParquet(path: string, texts: string[]): string {
  parquetWriteFile({
    filename: path,
    columnData: [
      { name: "id", data: texts.map((_, i) => i), type: "INT32" },
      { name: "text", data: texts, type: "STRING" },
    ],
  });
  return path;
}

function writeJsonl(path: string, texts: string[]): string {
  writeFileSync(path, texts.map((text, i) => JSON.stringify({ id: i, text })).join("\n") + "\n");
  return path;
}

// Each test gets its own cache folder through DYNAMOE_CACHE, and no URL from the environment.
const saved = { cache: process.env.DYNAMOE_CACHE, url: process.env[RECYCLING_THE_WEB_URL_ENV] };
let cache: string;
beforeEach(() => {
  cache = tempDir("dynamoe-rtw-cache-");
  process.env.DYNAMOE_CACHE = cache;
  delete process.env[RECYCLING_THE_WEB_URL_ENV];
});
afterEach(() => {
  for (const [key, value] of [["DYNAMOE_CACHE", saved.cache], [RECYCLING_THE_WEB_URL_ENV, saved.url]] as const) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
});

const texts = ["The first recycled document.", "Second: é 🌍", "third"];

test("the descriptor names the paper's subset: parquet, text column, 1,000 documents", () => {
  assert.equal(RECYCLING_THE_WEB_1K.name, NAME);
  assert.match(RECYCLING_THE_WEB_1K.url, /^https:\/\/huggingface\.co\/datasets\/mlx-community\/recycling_the_web-1k\/resolve\/main\/.+\.parquet$/);
  assert.deepEqual([RECYCLING_THE_WEB_1K.format, RECYCLING_THE_WEB_1K.textColumn, RECYCLING_THE_WEB_1K.limit], ["parquet", "text", 1000]);
});

test("fetching a local parquet file records its sha256 in a manifest, and loadCorpus reads it", async () => {
  const src = writeParquet(join(tempDir(), "subset.parquet"), texts);
  const progress: DownloadProgress[] = [];
  const path = await fetchRecyclingTheWeb({ url: src, progressBar: false, onProgress: (p) => progress.push(p) });
  const dir = join(cache, NAME);
  assert.equal(recyclingTheWebDir(), dir);
  assert.equal(path, join(dir, `${NAME}.parquet`));
  assert.deepEqual(readFileSync(path), readFileSync(src));
  assert.deepEqual(readdirSync(dir).sort(), ["manifest.json", `${NAME}.parquet`]); // no staging folder left
  const size = readFileSync(src).length;
  assert.deepEqual(progress, [{ received: size, total: size }]);

  const manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8"));
  assert.deepEqual({ ...manifest, fetchedAt: "" }, { dataset: NAME, url: src, file: `${NAME}.parquet`, sha256: sha256(readFileSync(src)), bytes: size, fetchedAt: "" });
  assert.ok(!Number.isNaN(Date.parse(manifest.fetchedAt)));
  assert.deepEqual(await readRecyclingTheWebManifest(dir), manifest);

  const corpus = await loadCorpus(NAME);
  assert.equal(corpus.name, NAME);
  assert.equal(corpus.source, `${src} (sha256 ${manifest.sha256})`);
  assert.deepEqual(corpus.documents, texts);
  assert.deepEqual(corpus.titles, ["row 1", "row 2", "row 3"]);
});

test("a file:// URL to a .jsonl works too, and loadCorpus keeps the first 1,000 of 1,005 documents", async () => {
  const many = Array.from({ length: 1005 }, (_, i) => `doc ${i}`);
  const src = writeJsonl(join(tempDir(), "many.jsonl"), many);
  const url = pathToFileURL(src).href;
  const path = await fetchRecyclingTheWeb({ url, progressBar: false });
  assert.equal(path, join(cache, NAME, `${NAME}.jsonl`));
  assert.equal((await readRecyclingTheWebManifest(join(cache, NAME)))?.url, url);
  const corpus = await loadCorpus(NAME);
  assert.equal(corpus.documents.length, 1000);
  assert.deepEqual(corpus.documents, many.slice(0, 1000));
  assert.equal(corpus.titles.at(-1), "line 1000");

  // The same cap for parquet, which reads only the first 1,000 rows.
  const parquet = writeParquet(join(tempDir(), "many.parquet"), many);
  await fetchRecyclingTheWeb({ url: pathToFileURL(parquet).href, progressBar: false });
  const fromParquet = await loadCorpus(NAME);
  assert.deepEqual(fromParquet.documents, many.slice(0, 1000));
  // Switching source replaced the cached file and its record.
  assert.deepEqual(readdirSync(join(cache, NAME)).sort(), ["manifest.json", `${NAME}.parquet`]);
});

test("before any fetch, loadCorpus says which command downloads the corpus", async () => {
  await assert.rejects(loadCorpus(NAME), {
    name: "DataError",
    message: `the ${NAME} corpus is not downloaded yet: run "dynamoe data fetch ${NAME}" (add --url FILE to use a copy you already have)`,
  });
});

test("a tampered cached file fails its recorded checksum; fetching again restores it; a changed source is refused", async () => {
  const src = writeParquet(join(tempDir(), "subset.parquet"), texts);
  const path = await fetchRecyclingTheWeb({ url: src, progressBar: false });
  const trusted = sha256(readFileSync(path));
  writeFileSync(path, Buffer.concat([readFileSync(path), Buffer.from("tampered")]));
  const tampered = sha256(readFileSync(path));
  await assert.rejects(loadCorpus(NAME), {
    name: "DataError",
    message: `${path}: sha256 checksum mismatch (expected ${trusted}, recorded on first download; got ${tampered}): the cached file was changed or damaged, run "dynamoe data fetch ${NAME}" to fetch it again`,
  });

  // The source still matches the record, so a new fetch repairs the cache.
  await fetchRecyclingTheWeb({ url: src, progressBar: false });
  assert.deepEqual((await loadCorpus(NAME)).documents, texts);

  // A source whose bytes changed since the first fetch is not trusted.
  writeParquet(src, ["something else entirely"]);
  writeFileSync(path, "damaged");
  await assert.rejects(fetchRecyclingTheWeb({ url: src, progressBar: false }), (e: unknown) => {
    assert.ok(e instanceof Error && e.name === "DataError", String(e));
    assert.equal(e.message, `${src}: sha256 checksum mismatch (expected ${trusted}, recorded on first download; got ${sha256(readFileSync(src))}): the file changed at its source or the download is corrupt; to trust the new file, delete ${join(cache, NAME)} and run "dynamoe data fetch ${NAME}" again`);
    return true;
  });
  assert.equal(readFileSync(path, "utf8"), "damaged"); // a refused file never takes the cached name
  assert.equal((await readRecyclingTheWebManifest(join(cache, NAME)))?.sha256, trusted);
  assert.equal(existsSync(join(cache, NAME, "incoming")), false);
});

test("unusable sources and a broken manifest are one-line errors that cache nothing", async () => {
  const dir = tempDir();
  const missing = join(dir, "nope.parquet");
  await assert.rejects(fetchRecyclingTheWeb({ url: missing }), {
    name: "DataError",
    message: `${missing} does not exist or is not a file: check the path given to --url or $${RECYCLING_THE_WEB_URL_ENV}`,
  });
  await assert.rejects(fetchRecyclingTheWeb({ url: "ftp://example.org/x.parquet" }), { name: "UserError", message: /^cannot fetch "ftp:\/\/example\.org\/x\.parquet": use an http\(s\):\/\/ or file:\/\/ URL/ });
  await assert.rejects(fetchRecyclingTheWeb({ url: join(dir, "x.csv") }), { name: "UserError", message: `cannot tell the format of "${join(dir, "x.csv")}": the file name must end in .parquet or .jsonl` });
  const junk = join(dir, "junk.parquet");
  writeFileSync(junk, "not parquet at all");
  await assert.rejects(fetchRecyclingTheWeb({ url: junk }), { name: "DataError", message: new RegExp(`^${junk.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} is not a usable corpus file \\(${NAME}\\.parquet: could not read the parquet file`) });
  assert.equal(await readRecyclingTheWebManifest(join(cache, NAME)), undefined);
  assert.equal(existsSync(join(cache, NAME, `${NAME}.parquet`)), false);

  await fetchRecyclingTheWeb({ url: writeJsonl(join(dir, "ok.jsonl"), texts) });
  writeFileSync(join(cache, NAME, "manifest.json"), JSON.stringify({ dataset: NAME, url: "x", file: "../escape.jsonl", sha256: "0".repeat(64), bytes: 1, fetchedAt: "" }));
  await assert.rejects(loadCorpus(NAME), { name: "DataError", message: /manifest\.json: file: .*: delete .* and run "dynamoe data fetch recycling-the-web-1k" again$/ });
  writeFileSync(join(cache, NAME, "manifest.json"), "{ not json");
  await assert.rejects(loadCorpus(NAME), { name: "DataError", message: /manifest\.json is not valid JSON: delete / });
});

test("the CLI fetches from --url and prints the path; its mistakes are one line", () => {
  const src = writeJsonl(join(tempDir(), "cli.jsonl"), texts);
  const cli = (...args: string[]) =>
    spawnSync(process.execPath, ["--import", "tsx", join(ROOT, "src/cli/bin.ts"), "data", "fetch", ...args], {
      cwd: ROOT,
      encoding: "utf8",
      env: { ...process.env, DYNAMOE_CACHE: cache },
      timeout: 120_000,
    });
  const ok = cli(NAME, "--url", src);
  assert.equal(ok.status, 0, ok.stderr);
  assert.equal(ok.stdout, `${NAME}: ${join(cache, NAME, `${NAME}.jsonl`)}\nfrom ${src}, sha256 ${sha256(readFileSync(src))} (recorded on first download, checked on every use)\n`);
  const missing = join(tempDir(), "missing.jsonl");
  const bad = cli(NAME, "--url", missing);
  assert.equal(bad.status, 1);
  assert.equal(bad.stderr, `dynamoe: ${missing} does not exist or is not a file: check the path given to --url or $${RECYCLING_THE_WEB_URL_ENV}\n`);
});

// Downloads over HTTP: a server on 127.0.0.1 serves the parquet file.
let server: Server;
let base: string;
let hits = 0;
let served: Buffer;
before(async () => {
  served = readFileSync(writeParquet(join(tempDir(), "served.parquet"), texts));
  server = createServer((req, res) => {
    hits++;
    if (req.url?.startsWith("/datasets/rtw.parquet")) {
      res.writeHead(200, { "content-length": served.length });
      res.end(served);
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => server.close());

test("over HTTP (address from the environment): downloaded once, recorded, then reused without a request", async () => {
  const url = `${base}/datasets/rtw.parquet?download=true`;
  process.env[RECYCLING_THE_WEB_URL_ENV] = url;
  hits = 0;
  const progress: DownloadProgress[] = [];
  const path = await fetchRecyclingTheWeb({ progressBar: false, onProgress: (p) => progress.push(p) });
  assert.equal(path, join(cache, NAME, `${NAME}.parquet`));
  assert.deepEqual(progress.at(-1), { received: served.length, total: served.length });
  const manifest = await readRecyclingTheWebManifest(join(cache, NAME));
  assert.equal(manifest?.url, url);
  assert.equal(manifest?.sha256, sha256(served));
  assert.deepEqual((await loadCorpus(NAME)).documents, texts);
  await fetchRecyclingTheWeb({ progressBar: false });
  assert.equal(hits, 1);

  await assert.rejects(fetchRecyclingTheWeb({ url: `${base}/missing.parquet`, progressBar: false }), {
    name: "DataError",
    message: `could not download ${base}/missing.parquet (HTTP 404 Not Found): download it by hand and run "dynamoe data fetch ${NAME} --url FILE"`,
  });
  assert.equal((await readRecyclingTheWebManifest(join(cache, NAME)))?.url, url); // a failed fetch keeps the old record
});
