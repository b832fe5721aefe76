/**
 * Training progress for the terminal: a live bar (cli-progress) on a TTY, periodic plain lines
 * otherwise (CI logs, pipes), and one line per evaluation either way.
 */
import cliProgress from "cli-progress";
import type { TrainEvent } from "../train/train.js";

const pct = (x: number) => `${(100 * x).toFixed(2)}%`;

/** Returns an event handler and a `stop()` that clears the bar. Writes to stderr. */
export function trainProgress(label: string): { onEvent: (e: TrainEvent) => void; stop: () => void } {
  const tty = Boolean(process.stderr.isTTY);
  let bar: cliProgress.SingleBar | null = null;
  let total = 0;
  let lastPrint = 0;
  let epochs = 0;
  const line = (s: string) => {
    if (bar) bar.stop();
    process.stderr.write(s + "\n");
  };
  let tokenBar: cliProgress.SingleBar | null = null;
  const onEvent = (e: TrainEvent) => {
    switch (e.type) {
      case "tokenize": {
        if (!tty) break;
        if (!tokenBar) {
          tokenBar = new cliProgress.SingleBar(
            { format: "tokenizing {side} |{bar}| {value}/{total} documents | eta {eta_formatted}", stream: process.stderr, hideCursor: true },
            cliProgress.Presets.shades_classic,
          );
          tokenBar.start(e.total, 0, { side: e.side });
        }
        tokenBar.update(e.done, { side: e.side });
        if (e.done === e.total) {
          tokenBar.stop();
          tokenBar = null;
        }
        break;
      }
      case "start": {
        total = e.totalSteps;
        epochs = e.config.epochs;
        const resumed = e.resumedFrom ? `, resuming at step ${e.resumedFrom}` : "";
        process.stderr.write(`${label}: ${e.params.toLocaleString("en-US")} parameters, ${e.totalSteps} steps (${e.stepsPerEpoch}/epoch)${resumed}\n`);
        if (tty) {
          bar = new cliProgress.SingleBar(
            {
              format: "epoch {epoch}/{epochs} |{bar}| {value}/{total} steps | loss {loss} | {ms} ms/step | eta {eta_formatted}",
              stream: process.stderr,
              hideCursor: true,
              etaBuffer: 50,
            },
            cliProgress.Presets.shades_classic,
          );
          bar.start(total, e.resumedFrom, { epoch: 1, epochs, loss: "-", ms: "-" });
        }
        break;
      }
      case "step": {
        if (bar) {
          if (!bar.isActive) bar.start(total, e.step - 1, {});
          bar.update(e.step, { epoch: e.epoch + 1, epochs, loss: e.loss.toFixed(4), ms: e.stepMs.toFixed(0) });
        } else if (performance.now() - lastPrint > 10_000 || e.step === total) {
          lastPrint = performance.now();
          process.stderr.write(`step ${e.step}/${total} epoch ${e.epoch + 1}/${epochs} loss ${e.loss.toFixed(4)} ${e.stepMs.toFixed(0)} ms/step\n`);
        }
        break;
      }
      case "eval": {
        const act = e.result.active.length ? ` | active experts/layer ${e.result.active.map((a) => a.toFixed(2)).join(", ")}` : "";
        const what =
          e.result.perplexity !== undefined
            ? `validation perplexity ${e.result.perplexity.toFixed(2)}, next-token accuracy ${pct(e.result.accuracy)}`
            : `${e.split} accuracy ${pct(e.result.accuracy)}`;
        line(`epoch ${Number.isInteger(e.epoch) ? e.epoch : e.epoch.toFixed(2)}: ${what}, loss ${e.result.loss.toFixed(4)}${act}`);
        break;
      }
      case "note":
        line(`note: ${e.message}`);
        break;
      case "checkpoint":
        break;
    }
  };
  return { onEvent, stop: () => bar?.stop() };
}
