// CPU twin of shaders/cross-entropy.wgsl: softmax cross-entropy over the vocabulary.
//
// Layouts (row-major): logits, dlogits [N, V]; labels i32 [N]. A negative label (−1 by
// convention) marks a row that does not count: loss 0, gradient 0, not correct.
//   loss[n]  = logsumexp(logits[n]) − logits[n, label[n]]
//   mean     = Σ loss / count,  count = number of rows with a label ≥ 0
//   dlogits  = (softmax(logits[n]) − onehot(label[n])) · scale / count   (the gradient of
//              scale · mean; count = 0 gives zeros)
//   correct[n] = 1 when argmax(logits[n]) = label[n] (ties go to the lowest index).

import { allocLike, type FloatArray, needLength } from './float-array.ts';

export interface CrossEntropyResult<F extends FloatArray> {
  /** Per-row loss [N]; 0 on ignored rows. */
  losses: F;
  /** Per-row 1/0: argmax equals the label; 0 on ignored rows. */
  correct: Uint32Array;
  lossSum: number;
  /** Rows with a label ≥ 0. */
  count: number;
  correctCount: number;
  /** lossSum / count (0 when count = 0). */
  meanLoss: number;
  /** correctCount / count (0 when count = 0). */
  accuracy: number;
}

/** Throws a RangeError naming the first label ≥ V (negative labels are ignored rows). */
export function checkLabels(labels: ArrayLike<number>, V: number): void {
  for (let n = 0; n < labels.length; n++) {
    const l = labels[n];
    if (!Number.isInteger(l) || l >= V) {
      throw new RangeError(
        `labels[${n}] = ${l} is not a token id in [0, ${V}) nor an ignore label (< 0); vocabulary size V = ${V}`,
      );
    }
  }
}

function checkShapes(logits: ArrayLike<number>, labels: ArrayLike<number>, N: number, V: number): void {
  needLength(logits, N * V, 'crossEntropy logits');
  if (labels.length !== N)
    throw new RangeError(`crossEntropy: ${labels.length} labels given for N = ${N} rows`);
  checkLabels(labels, V);
}

/** Row maximum and log Σ exp(l − max), in float64. */
function rowLogSumExp(logits: ArrayLike<number>, row: number, V: number): { max: number; lse: number } {
  let max = logits[row * V];
  for (let j = 1; j < V; j++) max = Math.max(max, logits[row * V + j]);
  let sum = 0;
  for (let j = 0; j < V; j++) sum += Math.exp(logits[row * V + j] - max);
  return { max, lse: Math.log(sum) };
}

export function crossEntropyForward<F extends FloatArray>(
  logits: F,
  labels: ArrayLike<number>,
  N: number,
  V: number,
): CrossEntropyResult<F> {
  checkShapes(logits, labels, N, V);
  const losses = allocLike(logits, N);
  const correct = new Uint32Array(N);
  let lossSum = 0;
  let count = 0;
  let correctCount = 0;
  for (let n = 0; n < N; n++) {
    const label = labels[n];
    if (label < 0) continue;
    const { max, lse } = rowLogSumExp(logits, n, V);
    const loss = max + lse - logits[n * V + label];
    losses[n] = loss;
    lossSum += loss;
    count++;
    let arg = 0;
    for (let j = 1; j < V; j++) if (logits[n * V + j] > logits[n * V + arg]) arg = j;
    if (arg === label) {
      correct[n] = 1;
      correctCount++;
    }
  }
  return {
    losses,
    correct,
    lossSum,
    count,
    correctCount,
    meanLoss: count > 0 ? lossSum / count : 0,
    accuracy: count > 0 ? correctCount / count : 0,
  };
}

/** Gradient of scale · (mean loss) w.r.t. the logits, [N, V]; zeros on ignored rows. */
export function crossEntropyBackward<F extends FloatArray>(
  logits: F,
  labels: ArrayLike<number>,
  N: number,
  V: number,
  scale = 1,
): F {
  checkShapes(logits, labels, N, V);
  let count = 0;
  for (let n = 0; n < N; n++) if (labels[n] >= 0) count++;
  const k = scale / Math.max(count, 1);
  const dlogits = allocLike(logits, N * V);
  for (let n = 0; n < N; n++) {
    const label = labels[n];
    if (label < 0) continue;
    const { max, lse } = rowLogSumExp(logits, n, V);
    for (let j = 0; j < V; j++) {
      const p = Math.exp(logits[n * V + j] - max - lse);
      dlogits[n * V + j] = (p - (j === label ? 1 : 0)) * k;
    }
  }
  return dlogits;
}
