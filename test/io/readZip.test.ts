/** The zip reader held against Python's own `zipfile` (the writer NumPy's `np.savez` uses). */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { UserError } from "../../src/errors.js";
import { readZip } from "../../src/io/readZip.js";

const python = spawnSync("/usr/bin/python3", ["-c", "import zipfile, zlib"]).status === 0;
const skip = !python && "python3 is not installed";
const dir = mkdtempSync(join(tmpdir(), "dynamoe-zip-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Members of every kind the reader meets: empty, text, binary, repetitive (deflates well), a long name. */
const MEMBERS: Record<string, Buffer> = {
  "empty.npy": Buffer.alloc(0),
  "text.txt": Buffer.from("héllo zip\n"),
  "bytes.bin": Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 7919) % 251)),
  "zeros.bin": Buffer.alloc(70_000),
  ["a/long/" + "n".repeat(200) + ".npy"]: Buffer.from([1, 2, 3]),
};

/** Write MEMBERS with Python's zipfile: `method` STORED or DEFLATED; `zip64` forces ZIP64 records everywhere. */
function pythonZip(name: string, method: "ZIP_STORED" | "ZIP_DEFLATED", opts: { zip64?: boolean; comment?: string } = {}): Buffer {
  const path = join(dir, name);
  const members = Object.entries(MEMBERS).map(([n, b]) => [n, b.toString("hex")]);
  const script = `
import zipfile, json, sys
${opts.zip64 ? "zipfile.ZIP64_LIMIT = 0; zipfile.ZIP_FILECOUNT_LIMIT = 0  # CPython's own tests force ZIP64 this way" : ""}
with zipfile.ZipFile(sys.argv[1], "w", zipfile.${method}) as z:
    for n, h in json.load(sys.stdin):
        with z.open(n, "w", force_zip64=${opts.zip64 ? "True" : "False"}) as f: f.write(bytes.fromhex(h))
    z.comment = ${JSON.stringify(opts.comment ?? "")}.encode()
`;
  const r = spawnSync("/usr/bin/python3", ["-c", script, path], { input: JSON.stringify(members), encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  return readFileSync(path);
}

function assertMembers(got: Map<string, Buffer>): void {
  assert.deepEqual([...got.keys()], Object.keys(MEMBERS));
  for (const [name, bytes] of Object.entries(MEMBERS)) assert.ok(got.get(name)!.equals(bytes), `${name} differs`);
}

test("stored and deflated archives from Python's zipfile read back byte for byte, with a comment, and with ZIP64 records", { skip }, () => {
  assertMembers(readZip(pythonZip("stored.zip", "ZIP_STORED"), "stored.zip"));
  assertMembers(readZip(pythonZip("deflated.zip", "ZIP_DEFLATED", { comment: "a comment after the end record" }), "deflated.zip"));
  const zip64 = pythonZip("zip64.zip", "ZIP_DEFLATED", { zip64: true });
  assert.ok(zip64.includes(Buffer.from([0x50, 0x4b, 0x06, 0x06])), "the archive has a ZIP64 end record");
  assertMembers(readZip(zip64, "zip64.zip"));
});

test("a damaged or unsupported archive is one line naming the file and what is wrong", { skip }, () => {
  const stored = pythonZip("bad.zip", "ZIP_STORED");
  const flipped = Buffer.from(stored);
  const at = flipped.indexOf("héllo");
  flipped[at] ^= 1;
  const bzip2 = spawnSync("/usr/bin/python3", ["-c", `import zipfile, sys\nwith zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_BZIP2) as z: z.writestr("a.npy", b"abc")`, join(dir, "bz.zip")]);
  const cases: [Buffer, RegExp][] = [
    [Buffer.from("not a zip at all, just some text that is longer than twenty-two bytes"), /^bad\.zip: not a zip archive \(no end-of-central-directory record; is it an \.npz file\?\)$/],
    [Buffer.alloc(0), /^bad\.zip: not a zip archive/],
    [stored.subarray(stored.length / 2), /^bad\.zip: (truncated zip archive|damaged central directory|damaged local header)/],
    [flipped, /^bad\.zip: text\.txt is damaged \(CRC-32 mismatch\)$/],
  ];
  if (bzip2.status === 0) cases.push([readFileSync(join(dir, "bz.zip")), /^bad\.zip: a\.npy is compressed with method 12; only stored \(0\) and deflate \(8\) members are read/]);
  for (const [buf, pattern] of cases) {
    assert.throws(
      () => readZip(buf, "bad.zip"),
      (e: Error) => e instanceof UserError && pattern.test(e.message) && !e.message.includes("\n"),
      String(pattern),
    );
  }
});
