/** Entry point of the `dynamoe` executable. `threadsFromArgv` must run before anything loads jax-js. */
import "./threadsFromArgv.js";
import { main } from "./main.js";

// A reader that closed the pipe (`dynamoe inspect RUN | head`) wants no more output: stop quietly.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw err;
  });
}

process.exitCode = await main(process.argv);
