/**
 * Engine start-up: starts jax-js's wasm backend. Call `initEngine()` once before creating arrays;
 * every dynamoe entry point (CLI, `train`, tests, benchmarks) does.
 *
 * The thread count is fixed when jax-js loads (see `preload.ts`): set `DYNAMOE_THREADS` in the
 * environment, or pass `--threads` to the CLI, which sets it before loading anything else.
 */
import { defaultDevice, init } from "./jax.js";
import { preparedThreads } from "./preload.js";

export type EngineInfo = { device: "wasm"; threads: number };

let started: Promise<EngineInfo> | null = null;

/** Start the wasm backend (idempotent). Resolves to the device and thread count in use. */
export function initEngine(): Promise<EngineInfo> {
  started ??= (async () => {
    const devices = await init("wasm");
    if (!devices.includes("wasm")) throw new Error("jax-js wasm backend failed to start");
    defaultDevice("wasm");
    return { device: "wasm" as const, threads: preparedThreads };
  })();
  return started;
}
