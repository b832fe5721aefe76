/**
 * The note `dynamoe train` prints when the machine is already busy and the native engine would take
 * every core: its threads meet after every kernel call, so a core shared with another process slows
 * them all (docs/performance.md, "On a busy machine": with one competing busy thread on 2 cores, the
 * two-thread image steps took 1.1–1.5× the one-thread time).
 */

/**
 * `threadsGiven`: whether the user chose a thread count (`--threads`, `DYNAMOE_THREADS`); `cores`:
 * the machine's; `load1`: the one-minute load average before the run starts; `terminal`: whether
 * stderr is a terminal. A note when a person is watching, another process already holds about a core
 * and the run would take them all; else null. Scripts, schedulers and tests (stderr a pipe or a file)
 * get none: their stderr is for errors, and a test suite running in parallel is always "busy".
 */
export function busyMachineNote(threadsGiven: boolean, cores: number, load1: number, terminal: boolean): string | null {
  if (!terminal || threadsGiven || cores < 2 || load1 < 0.9) return null;
  return (
    `the machine is busy (load average ${load1.toFixed(2)} on ${cores} cores) and the native engine takes all ${cores} by default; ` +
    `its threads wait for each other when a core is shared, so --threads ${Math.max(1, cores - Math.round(load1))} may be faster`
  );
}
