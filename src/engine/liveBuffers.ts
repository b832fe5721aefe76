/**
 * Counts jax-js's live device buffers, to catch reference-counting leaks in tests and benchmarks.
 *
 * jax-js keeps its buffer table private, so we wrap the backend's public `malloc`/`incRef`/`decRef`
 * and mirror the reference counts. The backend object is reached through jax-js's internal
 * `getBackend`, found by name in the module that `dist/index.js` imports; this relies on the
 * exact pinned version (0.1.25) and fails loudly if the layout changes.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import "./jax.js";

type Slot = number;
type BackendLike = {
  malloc(size: number, initialData?: Uint8Array): Slot;
  incRef(slot: Slot): void;
  decRef(slot: Slot): void;
};

export type BufferTracker = {
  /** Buffers allocated since tracking started and not yet freed. */
  live(): number;
  /** Stop tracking and restore the backend's methods. */
  stop(): void;
};

async function wasmBackend(): Promise<BackendLike> {
  const indexUrl = import.meta.resolve("@jax-js/jax");
  const source = readFileSync(fileURLToPath(indexUrl), "utf8");
  const match = /from\s+"\.\/(backend-[\w-]+\.js)"/.exec(source);
  if (!match) throw new Error("liveBuffers: cannot locate jax-js's backend module (version changed?)");
  const mod = (await import(new URL(match[1], indexUrl).href)) as Record<string, unknown>;
  const getBackend = Object.values(mod).find(
    (v): v is (d: string) => BackendLike => typeof v === "function" && v.name === "getBackend",
  );
  if (!getBackend) throw new Error("liveBuffers: jax-js's getBackend not found (version changed?)");
  return getBackend("wasm");
}

/**
 * Start counting buffers of the wasm backend. Only buffers allocated after this call are counted.
 * Call after `initEngine()`.
 */
export async function trackBuffers(): Promise<BufferTracker> {
  const backend = await wasmBackend();
  const refs = new Map<Slot, number>();
  const { malloc, incRef, decRef } = backend;
  backend.malloc = function (size, initialData) {
    const slot = malloc.call(this, size, initialData);
    refs.set(slot, 1);
    return slot;
  };
  backend.incRef = function (slot) {
    incRef.call(this, slot);
    const r = refs.get(slot);
    if (r !== undefined) refs.set(slot, r + 1);
  };
  backend.decRef = function (slot) {
    decRef.call(this, slot);
    const r = refs.get(slot);
    if (r === undefined) return;
    if (r <= 1) refs.delete(slot);
    else refs.set(slot, r - 1);
  };
  return {
    live: () => refs.size,
    stop: () => {
      backend.malloc = malloc;
      backend.incRef = incRef;
      backend.decRef = decRef;
    },
  };
}
