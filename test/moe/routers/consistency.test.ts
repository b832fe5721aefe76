/**
 * Each routing rule with two forms, held together (in the manner of Flax's consistency tests): the
 * jax-js form (`rule.route` in the pipeline of `router.ts`) and the host form the native engine runs
 * (`hostRouter.ts` around `rule.host`), on the same logits and noise: selection row by row, combine
 * weights, the auxiliary loss, and the host backward against jax-js `grad`. Random scores, and
 * crafted rows with exact ties. A failure names the rule, the case and the row.
 */
import assert from "node:assert/strict";
import { before, test } from "node:test";
import { grad, lax, nn, numpy as np } from "../../../src/engine/jax.js";
import { reluGates } from "../../../src/moe/reluGates.js";
import { allocHostRouting, hostRoute, hostRouteBackward } from "../../../src/moe/hostRouter.js";
import { HOST_ROUTER_KINDS, routerCapacity, routerDefaults, routerWidth, ruleOf, type RouterConfig } from "../../../src/moe/routers/registry.js";
import { hostUniform } from "../../../src/engine/hostRandom.js";
import { keyFromWords } from "../../../src/engine/seedKey.js";
import { lcg, setup } from "../../helpers.js";

before(setup);

/** Settings per rule beyond its defaults, so that every branch is taken (ties, drops, one expert). */
const VARIANTS: Record<string, Partial<RouterConfig>[]> = {
  percentile: [{}, { tau: 25, renormalize: "softmax-of-gates" }, { tau: 90 }],
  topk: [{ k: 2 }, { k: 1 }, { k: 3, renormalize: "softmax-of-gates" }],
  threshold: [{}, { threshold: 0.35 }, { threshold: 0.05, renormalize: "softmax-of-gates" }],
  switch: [{}, { capacityFactorTrain: 0.5, minCapacity: 1, balanceCoef: 0.5, zLossCoef: 0.1 }],
  "top-p": [{}, { p: 0.5, entropyCoef: 0.3 }, { p: 0.95, renormalize: "softmax-of-gates" }],
  "batch-percentile": [{}, { tau: 25 }, { tau: 90, renormalize: "softmax-of-gates" }],
  "expert-choice": [{}, { capacityFactorTrain: 0.5 }, { capacityFactorTrain: 3 }],
  gshard: [{}, { capacityFactorTrain: 0.5, minCapacity: 1, balanceCoef: 0.5, zLossCoef: 0.1 }],
  "aux-free": [{}, { k: 1 }, { k: 3, renormalize: "softmax-of-gates" }],
  remoe: [{}, { k: 1 }, { k: 4, temperature: 0.5 }],
  adamoe: [{}, { k: 2, nullRatio: 0.5, balanceCoef: 0.5 }, { k: 6, nullRatio: 2, renormalize: "softmax-of-gates" }],
  "top-any": [{}, { temperature: 0.5 }],
};

/** `bias`: a balancing bias `[N]` added to the selection scores (`balanceBias.ts`), or null. */
type Case = { name: string; t: number; n: number; logits: Float32Array; noise: Float32Array | null; bias: Float32Array | null };

function cases(seed: number): Case[] {
  const r = lcg(seed);
  const random = (t: number, n: number, scale: number) => Float32Array.from({ length: t * n }, () => (r() * 2 - 1) * scale);
  const t = 12;
  const n = 5;
  // Rows with exact ties: all equal, a tie at the top, a tie at the middle, a tie at the bottom, a clear winner.
  const tied = Float32Array.from([
    [0, 0, 0, 0, 0],
    [1, 1, 0, -1, -2],
    [2, 0.5, 0.5, 0.5, -1],
    [0.3, -1, -1, 0.2, 0.1],
    [3, 0, 0, 0, 0],
    [-1, 2, 2, 2, -1],
  ].flat());
  return [
    { name: "random logits", t, n, logits: random(t, n, 2), noise: null, bias: null },
    { name: "random logits with gate noise", t, n, logits: random(t, n, 2), noise: random(t, n, 0.1), bias: null },
    { name: "peaked logits, 8 experts", t: 16, n: 8, logits: random(16, 8, 6), noise: null, bias: null },
    { name: "rows with exact ties", t: 6, n: 5, logits: tied, noise: null, bias: null },
    { name: "random logits with a balancing bias", t, n, logits: random(t, n, 2), noise: null, bias: random(1, n, 0.2) },
    { name: "random logits with gate noise and a balancing bias", t, n, logits: random(t, n, 2), noise: random(t, n, 0.1), bias: random(1, n, 0.2) },
  ];
}

/** The key of a rule's own draws (GShard's second expert) in these tests, and its uniforms on the host. */
const DRAW_KEY: [number, number] = [0, 1234];
const ownUniform = (cfg: RouterConfig, t: number, n: number) => (ruleOf(cfg.kind).ownDraw?.(n) ? hostUniform(DRAW_KEY, t) : null);

/** The jax-js form: mask, weights and auxiliary loss of the rule on `logits` (softmax input z). */
/** ReMoE's L1 coefficient in these tests: large enough that its term matters next to the weights'. */
const L1 = 0.25;

/** Threshold logits θ `[N]` for rules that train them (`top-any`): spread so that some experts pass and some do not. */
const thetaFor = (n: number) => Float32Array.from({ length: n }, (_, i) => -1.5 + (3 * i) / Math.max(1, n - 1));

function jaxRoute(cfg: RouterConfig, z: np.Array, noise: np.Array | null, bias: np.Array | null, experts: number, theta: np.Array | null = null) {
  const gate = ruleOf(cfg.kind).gate;
  const probs = gate === "relu" ? reluGates(z.ref) : gate === "sigmoid" ? nn.sigmoid(z.ref) : nn.softmax(z.ref, -1);
  let scores = probs.ref;
  if (noise) scores = scores.add(noise);
  scores = lax.stopGradient(scores);
  if (bias) scores = scores.add(bias);
  const key = ruleOf(cfg.kind).ownDraw?.(z.shape[1]) ? keyFromWords(...DRAW_KEY) : undefined;
  const out = ruleOf(cfg.kind).route({ logits: z, probs, scores, cfg, train: true, key, l1: np.array([L1]), experts, ...(theta ? { thresholds: theta } : {}) });
  out.losses && Object.values(out.losses).forEach((l) => l.dispose());
  out.dropped?.dispose();
  return out;
}

const rows = (a: ArrayLike<number>, t: number, n: number) => Array.from({ length: t }, (_, i) => Array.from(a).slice(i * n, (i + 1) * n));

for (const kind of HOST_ROUTER_KINDS) {
  test(`${kind}: the host form (native engine) equals the jax-js form: selection, weights, auxiliary loss, gradient`, async () => {
    assert.ok(VARIANTS[kind], `${kind} has a host form but no variants in this test: add them`);
    for (const [v, extra] of VARIANTS[kind].entries()) {
      const cfg: RouterConfig = { ...routerDefaults(kind), ...extra };
      for (const c of cases(11 + v)) {
        const where = `${kind} ${JSON.stringify(extra)}, ${c.name}`;
        const { t, n } = c;
        // Rules with null experts score W > N outputs: the case's N columns, then more from a fixed stream.
        const w = routerWidth(n, cfg);
        if (w > n && c.bias) continue; // the config refuses a balancing bias there
        const logits = widen(c.logits, t, n, w, 2);
        const noise = c.noise && widen(c.noise, t, n, w, 0.1);
        const capacity = routerCapacity(t, n, cfg, true) ?? t;
        const host = allocHostRouting(t, n, new Int32Array(t * n), new Float32Array(t * n), w);
        const theta = ruleOf(kind).thresholds ? thetaFor(n) : null;
        const jaxTheta = () => (theta ? np.array(theta) : null);
        const hostAux = hostRoute(cfg, logits, t, n, noise, host, { capacity, uniform: ownUniform(cfg, t, n), bias: c.bias, l1: L1, thresholds: theta });
        const jaxBias = () => (c.bias ? np.array(c.bias) : null);
        const jaxNoise = () => (noise ? np.array(noise).reshape([t, w]) : null);

        const j = jaxRoute(cfg, np.array(logits).reshape([t, w]), jaxNoise(), jaxBias(), n, jaxTheta());
        const [mask, weights, aux] = await Promise.all([j.mask.data(), j.weights.data(), j.auxLoss.data()]);
        const jm = rows(mask, t, n);
        const hm = rows(host.mask, t, w).map((r) => r.slice(0, n));
        for (let row = 0; row < t; row++) assert.deepEqual(hm[row], jm[row], `${where}: row ${row}: host selects ${hm[row]}, jax-js ${jm[row]}`);
        const jw = rows(weights, t, n);
        const hw = rows(host.weights, t, w).map((r) => r.slice(0, n));
        for (let row = 0; row < t; row++) {
          for (let i = 0; i < n; i++) {
            assert.ok(Math.abs(hw[row][i] - jw[row][i]) <= 1e-6 + 1e-5 * Math.abs(jw[row][i]), `${where}: row ${row}: host weights ${hw[row]}, jax-js ${jw[row]}`);
          }
        }
        assert.ok(Math.abs(hostAux - aux[0]) <= 1e-6 + 1e-5 * Math.abs(aux[0]), `${where}: auxiliary loss host ${hostAux}, jax-js ${aux[0]}`);

        // L = Σ c_ti w_ti + aux: the host backward from ∂L/∂w = c, against jax-js grad.
        const rc = lcg(99 + v);
        const coef = Float32Array.from({ length: t * n }, () => rc() * 2 - 1);
        const lossAt = (z: np.Array, th: np.Array | null) => {
          const out = jaxRoute(cfg, z, jaxNoise(), jaxBias(), n, th);
          out.mask.dispose();
          return out.weights.mul(np.array(coef).reshape([t, n])).sum().add(out.auxLoss);
        };
        const lossOf = (z: np.Array) => lossAt(z, jaxTheta());
        const jaxGrad = rows(await grad(lossOf)(np.array(logits).reshape([t, w])).data(), t, w);
        const dPair = new Float32Array(host.offsets[n]);
        for (let e = 0; e < n; e++) for (let p = host.offsets[e]; p < host.offsets[e + 1]; p++) dPair[p] = coef[host.tokens[p] * n + e];
        const dz = new Float32Array(t * w);
        const dTheta = theta ? new Float32Array(n) : null;
        hostRouteBackward(cfg, host, t, n, dPair, dz, dTheta);
        if (theta && dTheta) {
          const jaxDTheta = await grad((th: np.Array) => lossAt(np.array(logits).reshape([t, w]), th))(np.array(theta)).data();
          for (let i = 0; i < n; i++) {
            assert.ok(Math.abs(dTheta[i] - jaxDTheta[i]) <= 2e-6 + 1e-4 * Math.abs(jaxDTheta[i]), `${where}: host ∂L/∂θ ${Array.from(dTheta)}, jax-js ${Array.from(jaxDTheta)}`);
          }
          assert.ok(dTheta.some((v) => v !== 0), `${where}: some threshold gets a gradient`);
        }
        const hostGrad = rows(dz, t, w);
        for (let row = 0; row < t; row++) {
          for (let i = 0; i < w; i++) {
            assert.ok(Math.abs(hostGrad[row][i] - jaxGrad[row][i]) <= 2e-6 + 1e-4 * Math.abs(jaxGrad[row][i]), `${where}: row ${row}: host ∂L/∂z ${hostGrad[row]}, jax-js grad ${jaxGrad[row]}`);
          }
        }
      }
    }
  });
}

/** `[T, N]` rows widened to `[T, W]` with extra columns from a fixed stream in ±scale (null experts' logits). */
function widen(a: Float32Array, t: number, n: number, w: number, scale: number): Float32Array {
  if (w === n) return a;
  const r = lcg(5);
  const out = new Float32Array(t * w);
  for (let row = 0; row < t; row++) {
    out.set(a.subarray(row * n, (row + 1) * n), row * w);
    for (let i = n; i < w; i++) out[row * w + i] = (r() * 2 - 1) * scale;
  }
  return out;
}

test("every rule without a host form is one the native engine refuses by name", async () => {
  const { nativeImageUnsupported } = await import("../../../src/steps/nativeImageStep.js");
  for (const kind of Object.keys(VARIANTS)) assert.ok(HOST_ROUTER_KINDS.includes(kind as RouterConfig["kind"]), `${kind} is tested here but has no host form`);
  const { ROUTER_KINDS } = await import("../../../src/moe/routers/registry.js");
  for (const kind of ROUTER_KINDS.filter((k) => !HOST_ROUTER_KINDS.includes(k))) {
    const cfg = { kind: "moe" as const, inputDim: 4, numClasses: 2, d: 4, h: 4, layers: 1, experts: [4], router: routerDefaults(kind) };
    assert.equal(nativeImageUnsupported(cfg), `the ${kind} router`);
  }
});
