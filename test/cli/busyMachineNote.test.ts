import assert from "node:assert/strict";
import { test } from "node:test";
import { busyMachineNote } from "../../src/cli/busyMachineNote.js";

test("busyMachineNote: a note only when someone watches a run that would take every core of a machine another process already uses", () => {
  assert.equal(busyMachineNote(false, 2, 0.2, true), null, "a quiet machine");
  assert.equal(busyMachineNote(true, 2, 3.5, true), null, "the user chose the threads");
  assert.equal(busyMachineNote(false, 1, 3.5, true), null, "one core: nothing to choose");
  assert.equal(busyMachineNote(false, 2, 3.5, false), null, "stderr is a pipe or a file: a script, a scheduler or a test");
  const note = busyMachineNote(false, 2, 1.1, true);
  assert.match(note!, /load average 1\.10 on 2 cores/);
  assert.match(note!, /--threads 1 may be faster/);
  assert.match(busyMachineNote(false, 8, 2.0, true)!, /--threads 6 /, "the cores the other processes leave");
  assert.match(busyMachineNote(false, 2, 7.5, true)!, /--threads 1 /, "never below one");
});
