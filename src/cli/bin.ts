/** Entry point of the `dynamoe` executable. `threadsFromArgv` must run before anything loads jax-js. */
import "./threadsFromArgv.js";
import { main } from "./main.js";

process.exitCode = await main(process.argv);
