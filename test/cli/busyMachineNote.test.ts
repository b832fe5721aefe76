import assert from "node:assert/strict";
import { test } from "node:test";
import { busyMachineNote } from "../../src/cli/busyMachineNote.js";

test("busyMachineNote: a note only when the run would take every core of a machine another process already uses", () => {
  assert.equal(busyMachineNote(false, 2, 0.2), null, "a quiet machine");
  assert.equal(busyMachineNote(true, 2, 3.5), null, "the user chose the threads");
  assert.equal(busyMachineNote(false, 1, 3.5), null, "one core: nothing to choose");
  const note = busyMachineNote(false, 2, 1.1);
  assert.match(note!, /load average 1\.10 on 2 cores/);
  assert.match(note!, /--threads 1 may be faster/);
  assert.match(busyMachineNote(false, 8, 2.0)!, /--threads 6 /, "the cores the other processes leave");
  assert.match(busyMachineNote(false, 2, 7.5)!, /--threads 1 /, "never below one");
});
