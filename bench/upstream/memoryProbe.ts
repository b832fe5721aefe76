// Memory probe for the long-training RSS growth: the dense MNIST model trained on one fixed batch
// (as the memory bench does), that also counts WebAssembly Module/compile/Instance/instantiate calls, reads
// /proc/self/status (RssAnon/RssFile), /proc/self/maps region count, V8 heap-space and code stats,
// and arrayBuffers. Prints one line per sample and a final slope (MB per 1,000 steps, RSS and RssAnon)
// from the first sample to the last.
// Run: DYNAMOE_THREADS=1 node --expose-gc --import tsx bench/upstream/memoryProbe.ts [--steps 3000] [--every 500]
//      [--instance-cache]  (reuse one WebAssembly.Instance per Module: the workaround under test)
//      [--key seed|split|buffer]  (how the per-step PRNG key is made; see below)
import { parseArgs } from "node:util";
import { readFileSync } from "node:fs";
import v8 from "node:v8";

const { values } = parseArgs({
  options: {
    steps: { type: "string", default: "3000" },
    every: { type: "string", default: "500" },
    "instance-cache": { type: "boolean", default: false },
    // How each step's key is made: `seed` = random.key(i) (compiles a kernel per
    // step), `split` = split a carried key each step (as src/train/train.ts), `buffer` = [0, i] uploaded.
    key: { type: "string", default: "seed" },
  },
});
const W = WebAssembly as unknown as Record<string, unknown>;
const counts = { Module: 0, compile: 0, Instance: 0, instantiate: 0, Memory: 0 };
const memories: WebAssembly.Memory[] = [];
const OrigMemory = WebAssembly.Memory;
const OrigModule = WebAssembly.Module;
const OrigInstance = WebAssembly.Instance;
const origCompile = WebAssembly.compile;
const origInstantiate = WebAssembly.instantiate;
function wrapCtor<T extends Function>(Orig: T, name: keyof typeof counts, hook?: (o: any) => void): T {
  const Wrapped = function (this: unknown, ...args: unknown[]) {
    counts[name]++;
    const o = new (Orig as any)(...args);
    hook?.(o);
    return o;
  } as unknown as T;
  (Wrapped as any).prototype = (Orig as any).prototype;
  Object.setPrototypeOf(Wrapped, Orig);
  return Wrapped;
}
W.Memory = wrapCtor(OrigMemory, "Memory", (m) => memories.push(m));
W.Module = wrapCtor(OrigModule, "Module");
const instanceCache = new WeakMap<WebAssembly.Module, WeakMap<object, WebAssembly.Instance>>();
if (values["instance-cache"]) {
  // Reuse one instance per (module, imports.env.memory): jax-js kernels are stateless functions.
  const Cached = function (module: WebAssembly.Module, imports?: any) {
    const mem = imports?.env?.memory ?? OrigInstance;
    let byMem = instanceCache.get(module);
    if (!byMem) instanceCache.set(module, (byMem = new WeakMap()));
    let inst = byMem.get(mem);
    if (!inst) {
      counts.Instance++;
      inst = new OrigInstance(module, imports);
      byMem.set(mem, inst);
    }
    return inst;
  } as unknown as typeof WebAssembly.Instance;
  (Cached as any).prototype = OrigInstance.prototype;
  W.Instance = Cached;
} else {
  W.Instance = wrapCtor(OrigInstance, "Instance");
}
W.compile = function (...args: any[]) {
  counts.compile++;
  return (origCompile as any).apply(WebAssembly, args);
};
W.instantiate = function (...args: any[]) {
  counts.instantiate++;
  return (origInstantiate as any).apply(WebAssembly, args);
};

const { initEngine } = await import("../../src/engine/engine.js");
const { numpy: np, random } = await import("../../src/engine/jax.js");
const { seedKey } = await import("../../src/engine/seedKey.js");
const { resolveConfig } = await import("../../src/train/config.js");
const { adamw } = await import("../../src/steps/adamw.js");
const { initImageModel } = await import("../../src/models/imageModel.js");
const { makeTrainStep } = await import("../../src/steps/imageStep.js");
const { modelConfigFor } = await import("../../src/train/train.js");
await initEngine();
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) process.stderr.write("warning: run with node --expose-gc\n");
const mc = modelConfigFor(resolveConfig({ model: "dense" }), 784, 10);
const opt = adamw();
let params = initImageModel(random.key(0), mc);
let state = opt.init(params);
const step = makeTrainStep(mc, opt, 1.0);
const B = 256;
const x = Float32Array.from({ length: B * 784 }, (_, i) => Math.sin(i));
const y = Int32Array.from({ length: B }, (_, i) => (i * 7) % 10);
let carried = random.key(12345);
function stepKey(i: number): InstanceType<typeof np.Array> {
  if (values.key === "seed") return random.key(i);
  if (values.key === "buffer") return seedKey(i);
  if (values.key === "split") {
    const ks = random.split(carried, 2);
    carried = ks.ref.slice(0);
    return ks.slice(1);
  }
  throw new Error(`--key must be seed, split or buffer`);
}
const mb = (v: number) => v / 2 ** 20;
const f = (v: number) => v.toFixed(1);
function procStatus(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of readFileSync("/proc/self/status", "utf8").split("\n")) {
    const m = /^(\w+):\s+(\d+) kB/.exec(line);
    if (m) out[m[1]] = Number(m[2]) / 1024;
  }
  return out;
}
const mapsCount = () => readFileSync("/proc/self/maps", "utf8").split("\n").length - 1;
type Sample = { step: number; rss: number; anon: number };
const samples: Sample[] = [];
let last = { ...counts };
const every = Number(values.every);
const t0 = performance.now();
for (let i = 1; i <= Number(values.steps); i++) {
  const [p, st, stats] = step(params, state, np.array(x).reshape([B, 784]), np.array(y, { dtype: np.int32 }), stepKey(i), np.array(1e-3));
  [params, state] = [p, st];
  await stats.data();
  if (i === 1 || i % every === 0) {
    gc?.();
    const m = process.memoryUsage();
    const s = procStatus();
    const code = v8.getHeapCodeStatistics() as any;
    const spaces = v8.getHeapSpaceStatistics();
    const sp = (n: string) => f(mb(spaces.find((x) => x.space_name === n)?.space_used_size ?? 0));
    const d = Object.fromEntries(Object.entries(counts).map(([k, v]) => [k, v - (last as any)[k]]));
    last = { ...counts };
    samples.push({ step: i, rss: mb(m.rss), anon: s.RssAnon });
    console.log(
      `step ${i} (${((performance.now() - t0) / 1000).toFixed(0)}s): rss ${f(mb(m.rss))} anon ${f(s.RssAnon)} file ${f(s.RssFile)} shmem ${f(s.RssShmem)} | heap ${f(mb(m.heapUsed))} ext ${f(mb(m.external))} ab ${f(mb(m.arrayBuffers))} wasm ${memories.map((w) => f(mb(w.buffer.byteLength))).join(",")} | code ${f(mb(code.code_and_metadata_size))} bc ${f(mb(code.bytecode_and_metadata_size))} extscript ${f(mb(code.external_script_source_size))} codesp ${sp("code_space")} lo ${sp("large_object_space")} | maps ${mapsCount()} | dcalls ${JSON.stringify(d)}`,
    );
  }
}
// Least-squares slope over the samples after the first (step 1 is before warm-up settles).
function slope(pts: Sample[], get: (s: Sample) => number): number {
  const n = pts.length;
  const mx = pts.reduce((a, p) => a + p.step, 0) / n;
  const my = pts.reduce((a, p) => a + get(p), 0) / n;
  const num = pts.reduce((a, p) => a + (p.step - mx) * (get(p) - my), 0);
  const den = pts.reduce((a, p) => a + (p.step - mx) ** 2, 0);
  return (num / den) * 1000;
}
const pts = samples.slice(1);
console.log(`slope (least squares, steps ${pts[0].step}..${pts[pts.length - 1].step}, key=${values.key}${values["instance-cache"] ? ", instance-cache" : ""}): rss ${f(slope(pts, (s) => s.rss))} MB/1k steps, RssAnon ${f(slope(pts, (s) => s.anon))} MB/1k steps; totals ${JSON.stringify(counts)}`);
