/** Language-modelling data: sequences of a token stream, and token-frequency buckets. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { BUCKET_EDGES, frequencyBuckets, gatherSequences, sequenceCount } from "../../../src/data/text/lmData.js";
import { DataError } from "../../../src/data/types.js";
import { lcg } from "../../helpers.js";

/** `[n]` tokens whose value is their position (plus 1000, so values and positions are told apart). */
const stream = (n: number) => Uint16Array.from({ length: n }, (_, i) => 1000 + i);

test("sequenceCount is floor((n − 1) / S): a sequence of S positions needs S + 1 tokens", () => {
  const cases: [number, number, number][] = [
    [17, 4, 4],
    [16, 4, 3],
    [5, 4, 1],
    [4, 4, 0],
    [1, 4, 0],
    [0, 4, 0],
    [129, 128, 1],
    [1000, 1, 999],
  ];
  for (const [n, s, want] of cases) assert.equal(sequenceCount(stream(n), s), want, `n=${n}, S=${s}`);
});

test("gatherSequences in order: x = tokens[i·S, i·S+S), y the same shifted by one", () => {
  const s = 4;
  const tokens = stream(17);
  const { x, y } = gatherSequences(tokens, null, 1, 3, s); // sequences 1, 2, 3
  assert.ok(x instanceof Int32Array && y instanceof Int32Array);
  const want = (seqs: number[], shift: number) => seqs.flatMap((i) => Array.from({ length: s }, (_, k) => 1000 + i * s + k + shift));
  assert.deepEqual(Array.from(x), want([1, 2, 3], 0));
  assert.deepEqual(Array.from(y), want([1, 2, 3], 1));
  // The last sequence ends on the last token (y[-1] = tokens[16]).
  assert.equal(gatherSequences(tokens, null, 3, 1, s).y.at(-1), 1016);
});

test("gatherSequences through an order: rows follow order[start ..]", () => {
  const s = 3;
  const tokens = stream(13); // 4 sequences
  const order = Int32Array.from([2, 0, 3, 1]);
  const { x, y } = gatherSequences(tokens, order, 1, 3, s); // sequences 0, 3, 1
  assert.deepEqual(Array.from(x), [1000, 1001, 1002, 1009, 1010, 1011, 1003, 1004, 1005]);
  assert.deepEqual(Array.from(y), [1001, 1002, 1003, 1010, 1011, 1012, 1004, 1005, 1006]);
});

test("gatherSequences throws DataError for a sequence past the end", () => {
  assert.throws(() => gatherSequences(stream(16), null, 3, 1, 4), (e) => e instanceof DataError && /sequence 3 runs past the 16 tokens/.test(e.message));
  assert.throws(() => gatherSequences(stream(17), Int32Array.from([0, 4]), 0, 2, 4), DataError);
});

test("frequencyBuckets on a small stream: bucket names, every seen token in the top 100, never-seen tokens unseen", () => {
  const { names, ofToken } = frequencyBuckets(Uint16Array.from([3, 3, 1, 1, 2, 3]), 6);
  assert.deepEqual(names, ["top 100", "100–1k", "1k–10k", "10k+", "unseen"]);
  assert.deepEqual(Array.from(ofToken), [4, 0, 0, 0, 4, 4]);
  assert.deepEqual([...BUCKET_EDGES], [100, 1000, 10000]);
});

test("frequencyBuckets: edges at ranks 100, 1,000 and 10,000, ties broken by id across each edge", () => {
  const vocab = 11_000;
  const seenCount = 10_500;
  // A random set of seen ids; each rank block has one count (ties), with ids ascending inside it,
  // and each block straddles an edge so the tie-break decides the bucket.
  const next = lcg(11);
  const ids = Array.from({ length: vocab }, (_, i) => i);
  for (let i = vocab - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [ids[i], ids[j]] = [ids[j], ids[i]];
  }
  const seen = ids.slice(0, seenCount);
  const unseen = ids.slice(seenCount);
  const blocks: [end: number, count: number][] = [
    [50, 6],
    [150, 5], // ranks 50..149: straddles 100
    [1500, 3], // straddles 1,000
    [9000, 2],
    [seenCount, 1], // straddles 10,000
  ];
  const ranked: number[] = [];
  const countOf = new Map<number, number>();
  let start = 0;
  for (const [end, count] of blocks) {
    const block = seen.slice(start, end).sort((a, b) => a - b);
    for (const id of block) countOf.set(id, count);
    ranked.push(...block);
    start = end;
  }
  // The stream: every id repeated by its count, shuffled, so first occurrence says nothing.
  const tokens: number[] = [];
  for (const [id, count] of countOf) for (let c = 0; c < count; c++) tokens.push(id);
  for (let i = tokens.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [tokens[i], tokens[j]] = [tokens[j], tokens[i]];
  }
  const { ofToken } = frequencyBuckets(Uint16Array.from(tokens), vocab);
  assert.equal(ofToken.length, vocab);
  const expected = (rank: number) => (rank < 100 ? 0 : rank < 1000 ? 1 : rank < 10_000 ? 2 : 3);
  ranked.forEach((id, rank) => assert.equal(ofToken[id], expected(rank), `id ${id} at rank ${rank}`));
  for (const id of unseen) assert.equal(ofToken[id], 4, `unseen id ${id}`);
  const sizes = [0, 0, 0, 0, 0];
  for (const b of ofToken) sizes[b] += 1;
  assert.deepEqual(sizes, [100, 900, 9000, 500, 500]);
});
