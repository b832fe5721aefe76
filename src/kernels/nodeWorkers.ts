/** Kernel-pool workers on Node's `worker_threads` (the browser starts them from a Blob URL instead). */
import { Worker } from "node:worker_threads";
import { KERNEL_WORKER_SOURCE, type SpawnWorker } from "./kernelPool.js";

const SOURCE = `${KERNEL_WORKER_SOURCE}\nserve(require("node:worker_threads").workerData);\n`;

/** Start a pool worker; it never keeps the process alive. */
export const spawnNodeWorker: SpawnWorker = (data) => {
  const worker = new Worker(SOURCE, { eval: true, workerData: data });
  worker.unref();
  return { stop: () => void worker.terminate() };
};
