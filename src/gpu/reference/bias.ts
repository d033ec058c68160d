// CPU twin of shaders/bias.wgsl: the bias of a linear layer over N rows of C channels.
//
//   forward:  y[n, c] += b[c]
//   backward: db[c]   += Σ_n dy[n, c]   (rows summed in order, as the kernel does)

import type { FloatArray } from './float-array.ts';
import { needLength } from './float-array.ts';

/** y [N, C] += b [C] on every row, in place. */
export function biasForward(y: FloatArray, b: ArrayLike<number>, N: number, C: number): void {
  needLength(y, N * C, 'biasForward y');
  needLength(b, C, 'biasForward b');
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) y[n * C + c] += b[c];
}

/** db [C] += the column sums of dy [N, C]. */
export function biasBackward(dy: ArrayLike<number>, db: FloatArray, N: number, C: number): void {
  needLength(dy, N * C, 'biasBackward dy');
  needLength(db, C, 'biasBackward db');
  for (let c = 0; c < C; c++) {
    let s = 0;
    for (let n = 0; n < N; n++) s += dy[n * C + c];
    db[c] += s;
  }
}
