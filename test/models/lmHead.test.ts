import assert from "node:assert/strict";
import { before, test } from "node:test";
import { numpy as np, random, valueAndGrad } from "../../src/engine/jax.js";
import { linearCrossEntropy } from "../../src/models/lmHead.js";
import { crossEntropy } from "../../src/steps/imageStep.js";
import { assertAllClose, read, setup } from "../helpers.js";

before(setup);

const V = 37;
const D = 8;
const T = 20;

function inputs() {
  const table = random.normal(random.key(1), [V, D]);
  const hidden = random.normal(random.key(2), [T, D]);
  const y = Int32Array.from({ length: T }, (_, i) => (i * 11 + 3) % V);
  return { table, hidden, y };
}

for (const kernel of ["jax", "fused"] as const)
test(`the ${kernel} head's loss and hand-written gradients equal autodiff of the plain head (uneven chunks)`, async () => {
  const { table, hidden, y } = inputs();
  const lossOf = (tab: np.Array, h: np.Array) => crossEntropy(np.matmul(h, tab.transpose()), np.array(y, { dtype: np.int32 }));
  const [refLoss, [refDTable, refDHidden]] = valueAndGrad(lossOf, { argnums: [0, 1] })(table.ref, hidden.ref);
  const out = await linearCrossEntropy(table, hidden.ref, np.array(y, { dtype: np.int32 }), { chunk: 7, grad: true, kernel });
  assertAllClose(await read(out.losses.mean()), await read(refLoss), { rtol: 1e-5 }, "loss");
  assertAllClose(await read(out.dHidden!), await read(refDHidden), { rtol: 1e-4, atol: 1e-6 }, "∂L/∂hidden");
  assertAllClose(await read(out.dTable!), await read(refDTable), { rtol: 1e-4, atol: 1e-6 }, "∂L/∂table");
  // `correct` marks exactly the tokens whose arg-max logit is the target.
  const logits = await read(np.matmul(hidden, table.ref.transpose()));
  const expected = Array.from(y, (target, t) => {
    const row = logits.slice(t * V, (t + 1) * V);
    return row.indexOf(Math.max(...row)) === target ? 1 : 0;
  });
  assert.deepEqual(await read(out.correct), expected);
  table.dispose();
});

test("without grad the head returns the same per-token losses and no gradients", async () => {
  const { table, hidden, y } = inputs();
  const a = await linearCrossEntropy(table, hidden.ref, np.array(y, { dtype: np.int32 }), { chunk: 6 });
  const b = await linearCrossEntropy(table, hidden, np.array(y, { dtype: np.int32 }), { chunk: 64, grad: true });
  assert.equal(a.dHidden, undefined);
  assertAllClose(await read(a.losses), await read(b.losses), { rtol: 1e-6 }, "losses");
  b.correct.dispose();
  b.dHidden!.dispose();
  b.dTable!.dispose();
  a.correct.dispose();
  table.dispose();
});

test("auto picks the fused kernel on the CPU, and both kernels accumulate ∂L/∂E into dTableInto alike", async () => {
  const { table, hidden, y } = inputs();
  const run = async (kernel: "auto" | "fused" | "jax") =>
    linearCrossEntropy(table.ref, hidden.ref, np.array(y, { dtype: np.int32 }), { kernel, grad: true, dTableInto: np.ones([V, D]) });
  const [auto, fused, jaxHead] = [await run("auto"), await run("fused"), await run("jax")];
  const dAuto = await read(auto.dTable!);
  assert.deepEqual(dAuto, await read(fused.dTable!), "auto is the fused kernel here");
  assertAllClose(dAuto, await read(jaxHead.dTable!), { rtol: 1e-5, atol: 1e-6 }, "∂L/∂E + 1");
  for (const r of [auto, fused, jaxHead]) for (const a of [r.losses, r.correct, r.dHidden!]) a.dispose();
  hidden.dispose();
  table.dispose();
});
