/**
 * Softmax cross-entropy of a batch of logits on the host, for the native image steps: the summed
 * loss `Σ_r logsumexp(z_r) − z_r[y_r]` and the correct count (the first maximum is the prediction,
 * as jax-js's argmax), and optionally the gradient of the mean loss, `(softmax(z) − onehot(y)) / B`.
 */

/**
 * @param lg `[B, C]` logits.
 * @param y `[B]` labels in `[0, C)`.
 * @param grad `[B, C]` written with ∂(mean loss)/∂logits, or null.
 */
export function hostCrossEntropy(lg: Float32Array, y: ArrayLike<number>, b: number, c: number, grad: Float32Array | null): { lossSum: number; correct: number } {
  let lossSum = 0, correct = 0;
  for (let r = 0; r < b; r++) {
    const at = r * c;
    let mx = -Infinity, arg = 0;
    for (let j = 0; j < c; j++) if (lg[at + j] > mx) (mx = lg[at + j]), (arg = j);
    let sum = 0;
    for (let j = 0; j < c; j++) sum += Math.exp(lg[at + j] - mx);
    const label = y[r];
    if (!(label >= 0 && label < c)) throw new Error(`native step: label ${label} outside [0, ${c})`);
    lossSum += Math.log(sum) + mx - lg[at + label];
    if (arg === label) correct++;
    if (grad) for (let j = 0; j < c; j++) grad[at + j] = (Math.exp(lg[at + j] - mx) / sum - (j === label ? 1 : 0)) / b;
  }
  return { lossSum, correct };
}
