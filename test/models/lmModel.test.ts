/**
 * The language model (spec §4): causality with and without attention, exact parameter counts for the
 * presets, and sequences shorter than the context.
 */
import assert from "node:assert/strict";
import { before, test } from "node:test";
import { numpy as np, random, tree } from "../../src/engine/jax.js";
import { countParams } from "../../src/models/imageModel.js";
import { applyAttention, initAttention } from "../../src/models/attention.js";
import { applyLmTrunk, initLmModel, lmLogits, lmParamCounts, type LmModelConfig, type LmModelParams } from "../../src/models/lmModel.js";
import { disposeRouting } from "../../src/moe/moeLayer.js";
import { routerDefaults } from "../../src/moe/routers/registry.js";
import { expertSchedule } from "../../src/moe/schedules.js";
import { LM_PRESETS, LM_SCALES } from "../../src/train/config.js";
import { assertAllClose, read, setup } from "../helpers.js";

before(setup);

const V = 50;
const S = 8;
const D = 16;

function small(kind: "dense" | "moe", attention: boolean): LmModelConfig {
  return { kind, vocab: V, context: S, d: D, h: 32, layers: 2, experts: kind === "moe" ? [4, 2] : [], router: routerDefaults("percentile"), attention, heads: 2 };
}

const VARIANTS = [
  ["dense", false],
  ["dense", true],
  ["moe", false],
  ["moe", true],
] as const;

/** Hidden states `[B·S', d]` as rows of numbers, in evaluation mode (no router noise). */
async function hiddenRows(params: LmModelParams, cfg: LmModelConfig, tokens: number[][]): Promise<number[][]> {
  const b = tokens.length;
  const s = tokens[0].length;
  const x = np.array(Int32Array.from(tokens.flat()), { dtype: np.int32 }).reshape([b, s]);
  const { hidden, routings } = applyLmTrunk(params, x, cfg, { train: false });
  assert.deepEqual(hidden.shape, [b * s, cfg.d]);
  assert.equal(routings.length, cfg.kind === "moe" ? cfg.layers : 0);
  const flat = await read(hidden);
  for (const r of routings) {
    assert.deepEqual(r.mask.shape, [b * s, cfg.experts[routings.indexOf(r)]]);
    await read(r.mask.ref); // realise before disposing (docs/jax-js-notes.md, eager leak)
    disposeRouting(r);
  }
  return Array.from({ length: b * s }, (_, i) => flat.slice(i * cfg.d, (i + 1) * cfg.d));
}

const maxDiff = (a: number[], b: number[]) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

// Two sequences per batch, so a leak across the batch would show as well.
const BASE = [
  [3, 14, 15, 9, 26, 5, 35, 8],
  [2, 7, 18, 28, 18, 28, 45, 9],
];

for (const [kind, attention] of VARIANTS) {
  test(`causality (${kind}, attention=${attention}): changing token j leaves positions < j unchanged${attention ? " and changes j" : " and changes only j"}`, async () => {
    const cfg = small(kind, attention);
    const params = initLmModel(random.key(7), cfg);
    const base = await hiddenRows(params, cfg, BASE);
    for (const j of [0, 3, S - 1]) {
      const changed = BASE.map((row) => row.map((t, i) => (i === j ? (t + 17) % V : t)));
      const rows = await hiddenRows(params, cfg, changed);
      for (let b = 0; b < BASE.length; b++) {
        for (let i = 0; i < S; i++) {
          const at = b * S + i;
          const diff = maxDiff(rows[at], base[at]);
          if (i < j || (!attention && i !== j)) {
            assert.ok(diff <= 1e-5, `sequence ${b}: position ${i} moved by ${diff} when token ${j} changed`);
          } else if (i === j) {
            assert.ok(diff > 1e-3, `sequence ${b}: position ${j} did not change with its own token (${diff})`);
          } else {
            // With attention, later positions see token j.
            assert.ok(diff > 1e-4, `sequence ${b}: position ${i} did not see token ${j} through attention (${diff})`);
          }
        }
      }
    }
    tree.dispose(params);
  });
}

test("lmLogits is the tied head: logits = hidden · Eᵀ, [T, V]", async () => {
  const cfg = small("dense", true);
  const params = initLmModel(random.key(8), cfg);
  const rows = await hiddenRows(params, cfg, [BASE[0].slice(0, 3)]);
  const table = await read(params.embed.tokens.ref); // [V, d]
  const logits = lmLogits(params, np.array(Float32Array.from(rows.flat())).reshape([3, D]));
  assert.deepEqual(logits.shape, [3, V]);
  const expected: number[] = [];
  for (const r of rows) for (let v = 0; v < V; v++) expected.push(r.reduce((s, x, k) => s + x * table[v * D + k], 0));
  assertAllClose(await read(logits), expected, { rtol: 1e-4, atol: 1e-6 }, "logits");
  tree.dispose(params);
});

for (const [kind, attention] of VARIANTS) {
  test(`a sequence shorter than the context (${kind}, attention=${attention}) equals the first S positions of a full-length run`, async () => {
    const cfg = small(kind, attention);
    const params = initLmModel(random.key(9), cfg);
    const full = await hiddenRows(params, cfg, BASE);
    for (const s of [1, 5]) {
      const short = await hiddenRows(params, cfg, BASE.map((row) => row.slice(0, s)));
      for (let b = 0; b < BASE.length; b++) {
        for (let i = 0; i < s; i++) assertAllClose(short[b * s + i], full[b * S + i], { rtol: 1e-5, atol: 1e-5 }, `S=${s} sequence ${b} position ${i}`);
      }
    }
    tree.dispose(params);
  });
}

test("lmParamCounts equals the initialised tree's count for every preset, dense and MoE, with and without attention", () => {
  for (const scale of LM_SCALES) {
    const { d, layers } = LM_PRESETS[scale];
    const variants: [string, Pick<LmModelConfig, "kind" | "experts">][] = [
      ["dense", { kind: "dense", experts: [] }],
      ["moe uniform", { kind: "moe", experts: expertSchedule(layers, { kind: "uniform", eMax: 8, eMin: 2 }) }],
      ["moe descending", { kind: "moe", experts: expertSchedule(layers, { kind: "descending", eMax: 8, eMin: 2 }) }],
    ];
    for (const [name, v] of variants) {
      for (const attention of [false, true]) {
        const cfg: LmModelConfig = { ...v, vocab: 50257, context: 128, d, h: 2 * d, layers, router: routerDefaults("percentile"), attention, heads: Math.max(1, d / 32) };
        const params = initLmModel(random.key(0), cfg);
        const counted = countParams(params);
        tree.dispose(params);
        const counts = lmParamCounts(cfg);
        const what = `${scale} ${name} attention=${attention}`;
        assert.equal(counts.total, counted, what);
        assert.equal(counts.nonEmbedding, counts.total - 50257 * d - 128 * d, what);
      }
    }
  }
});

test("exact parameter counts of the tiny preset (d 64, h 128, L 2, V 50,257, context 128)", () => {
  // Embeddings: 50,257·64 + 128·64 = 3,216,448 + 8,192 = 3,224,640. Final LayerNorm: 2·64 = 128.
  // FFN / expert: Linear(64,128) + Linear(128,64) = 8,320 + 8,256 = 16,576 (= 2dh + h + d).
  // Dense block: LayerNorm 128 + FFN 16,576 = 16,704; two blocks + final norm: 33,536.
  // Attention per block: LayerNorm 128 + Linear(64,192) 12,480 + Linear(64,64) 4,160 = 16,768; two: 33,536.
  // MoE block with N experts: 128 + router 64·N + N·16,576. Uniform [8, 8]: 2·133,248 + 128 = 266,624.
  // Descending [8, 2]: 133,248 + 33,408 + 128 = 166,784.
  const cfg = (kind: "dense" | "moe", experts: number[], attention: boolean): LmModelConfig => ({
    kind,
    vocab: 50257,
    context: 128,
    d: 64,
    h: 128,
    layers: 2,
    experts,
    router: routerDefaults("percentile"),
    attention,
    heads: 2,
  });
  const cases: [LmModelConfig, number][] = [
    [cfg("dense", [], false), 33_536],
    [cfg("dense", [], true), 67_072],
    [cfg("moe", [8, 8], false), 266_624],
    [cfg("moe", [8, 8], true), 300_160],
    [cfg("moe", [8, 2], false), 166_784],
    [cfg("moe", [8, 2], true), 200_320],
  ];
  for (const [c, nonEmbedding] of cases) {
    const what = `${c.kind} [${c.experts.join(", ")}] attention=${c.attention}`;
    assert.deepEqual(lmParamCounts(c), { total: nonEmbedding + 3_224_640, nonEmbedding }, what);
  }
  assert.deepEqual(expertSchedule(2, { kind: "descending", eMax: 8, eMin: 2 }), [8, 2]);
});

test("initLmModel rejects heads that do not divide d when attention is on", () => {
  assert.throws(() => initLmModel(random.key(0), { ...small("dense", true), heads: 3 }), /heads \(3\) must divide d \(16\)/);
  const p = initLmModel(random.key(0), { ...small("dense", false), heads: 3 }); // no attention: heads unused
  tree.dispose(p);
});

test("attention is initialised as GPT-2: N(0, 0.02²) weights, zero biases, output projection scaled by 1/√(2L)", async () => {
  const d = 64;
  const layers = 4;
  const { qkv, out } = initAttention(random.key(3), d, layers);
  const std = (xs: number[]) => Math.sqrt(xs.reduce((s, x) => s + x * x, 0) / xs.length);
  const qkvW = (await qkv.w.ref.data()) as Float32Array;
  const outW = (await out.w.ref.data()) as Float32Array;
  assert.ok(Math.abs(std([...qkvW]) / 0.02 - 1) < 0.05, `qkv std ${std([...qkvW])}`);
  assert.ok(Math.abs(std([...outW]) / (0.02 / Math.sqrt(2 * layers)) - 1) < 0.05, `out std ${std([...outW])}`);
  for (const b of [qkv.b, out.b]) assert.ok(((await b.ref.data()) as Float32Array).every((v) => v === 0));
  tree.dispose({ qkv, out });
});

test("at initialisation the attention branch writes less into the residual stream than the embedding holds", async () => {
  // With PyTorch's uniform init the branch had rms 0.17 here, 8× the embedding (attention.ts).
  const d = 64;
  const { qkv, out } = initAttention(random.key(4), d, 2);
  const x = random.normal(random.key(5), [2, 16, d]); // a LayerNorm'd input: unit scale
  const y = applyAttention({ qkv, out }, x, 2);
  const rms = (a: Float32Array) => Math.sqrt(a.reduce((s, v) => s + v * v, 0) / a.length);
  const branch = rms((await y.data()) as Float32Array);
  assert.ok(branch < 0.02, `attention branch rms ${branch} vs embedding std 0.02`);
  tree.dispose({ qkv, out });
});
