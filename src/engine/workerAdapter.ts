/**
 * A browser-style `Worker` over `node:worker_threads`, so that jax-js's wasm backend runs its kernels
 * on several cores in Node.
 *
 * jax-js creates its pool with `new Worker(blobUrl, { type: "module" })`, talks through
 * `onmessage`/`postMessage`, and expects `self` inside the worker. Node has no such global, so we
 * provide one. The worker source sits in a `blob:` URL that can only be read asynchronously; the
 * bootstrap below therefore queues messages until the source arrives, then replays them in order.
 *
 * The worker is `ref`ed only while a message is awaiting its answer (jax-js answers every message
 * exactly once), so an idle pool never keeps the process alive and a busy one never lets it exit.
 */
import { resolveObjectURL } from "node:buffer";
import { Worker as ThreadWorker } from "node:worker_threads";

const BOOTSTRAP = `
const { parentPort } = require("node:worker_threads");
globalThis.self = globalThis;
globalThis.postMessage = (data) => parentPort.postMessage(data);
let ready = false;
const queued = [];
parentPort.on("message", (msg) => {
  if (!ready && msg && msg.__dynamoeSource !== undefined) {
    (0, eval)(msg.__dynamoeSource);
    ready = true;
    for (const data of queued.splice(0)) self.onmessage({ data });
  } else if (!ready) {
    queued.push(msg);
  } else {
    self.onmessage({ data: msg });
  }
});
`;

type MessageHandler = ((event: { data: unknown }) => void) | null;
type ErrorHandler = ((event: { message: string }) => void) | null;

/** Minimal Web `Worker` look-alike used only by jax-js's wasm thread pool. */
export class NodeWebWorker {
  onmessage: MessageHandler = null;
  onerror: ErrorHandler = null;
  #worker: ThreadWorker;
  #pending = 0;

  constructor(url: string | URL, _options?: { type?: string }) {
    const blob = resolveObjectURL(String(url));
    if (!blob) throw new Error(`dynamoe worker adapter: cannot resolve ${String(url)}`);
    this.#worker = new ThreadWorker(BOOTSTRAP, { eval: true });
    this.#worker.unref();
    this.#worker.on("message", (data) => {
      this.#settle();
      this.onmessage?.({ data });
    });
    this.#worker.on("error", (err) => {
      this.#settle();
      this.onerror?.({ message: err.message });
    });
    void blob.text().then((source) => this.#worker.postMessage({ __dynamoeSource: source }));
  }

  postMessage(data: unknown): void {
    if (this.#pending++ === 0) this.#worker.ref();
    this.#worker.postMessage(data);
  }

  terminate(): void {
    void this.#worker.terminate();
  }

  #settle(): void {
    if (this.#pending > 0 && --this.#pending === 0) this.#worker.unref();
  }
}
