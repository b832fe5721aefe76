/** The line every benchmark prints first: the machine and how busy it is (timings on a busy machine are noisy). */
import os from "node:os";

export function reportMachineLoad(): void {
  const load = os.loadavg()[0];
  process.stderr.write(`machine: ${os.cpus()[0]?.model ?? "?"}, ${os.availableParallelism()} cores, load average ${load.toFixed(2)} before start\n`);
  if (load > 0.5) process.stderr.write("warning: the machine is busy; timings will be noisy\n");
}
