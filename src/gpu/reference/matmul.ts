// CPU twin of shaders/matmul.wgsl: C[b] (+)= alpha · op(A[b]) · op(B[b]), row-major.

export interface MatmulShape {
  M: number;
  N: number;
  K: number;
  /** A is stored K×M (so op(A) = Aᵀ). */
  transA?: boolean;
  /** B is stored N×K (so op(B) = Bᵀ). */
  transB?: boolean;
  batch?: number;
  alpha?: number;
}

export function matmulReference(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  shape: MatmulShape,
  accumulateInto?: Float32Array,
): Float32Array {
  const { M, N, K, transA = false, transB = false, batch = 1, alpha = 1 } = shape;
  const out = accumulateInto ?? new Float32Array(batch * M * N);
  // Sums in float64; the loop order keeps the innermost loop on contiguous memory
  // (this twin is also the CPU backend's matmul, so its speed matters).
  const row = new Float64Array(N);
  for (let bi = 0; bi < batch; bi++) {
    const oa = bi * M * K;
    const ob = bi * K * N;
    const oc = bi * M * N;
    for (let m = 0; m < M; m++) {
      if (transB) {
        for (let n = 0; n < N; n++) {
          let sum = 0;
          const bRow = ob + n * K;
          if (transA) for (let k = 0; k < K; k++) sum += a[oa + k * M + m] * b[bRow + k];
          else {
            const aRow = oa + m * K;
            for (let k = 0; k < K; k++) sum += a[aRow + k] * b[bRow + k];
          }
          row[n] = sum;
        }
      } else {
        row.fill(0);
        for (let k = 0; k < K; k++) {
          const av = transA ? a[oa + k * M + m] : a[oa + m * K + k];
          if (av === 0) continue;
          const bRow = ob + k * N;
          for (let n = 0; n < N; n++) row[n] += av * b[bRow + n];
        }
      }
      const cRow = oc + m * N;
      if (accumulateInto) for (let n = 0; n < N; n++) out[cRow + n] += alpha * row[n];
      else for (let n = 0; n < N; n++) out[cRow + n] = alpha * row[n];
    }
  }
  return out;
}

/** The twin of the kernel's SUM_BATCH mode: one M×N matrix, alpha · Σ_b op(A[b]) · op(B[b]). */
export function matmulBatchSumReference(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  shape: MatmulShape,
  accumulateInto?: Float32Array,
): Float32Array {
  const { M, N, batch = 1, alpha = 1 } = shape;
  const products = matmulReference(a, b, { ...shape, alpha: 1 });
  const out = accumulateInto ?? new Float32Array(M * N);
  for (let i = 0; i < M * N; i++) {
    let sum = 0;
    for (let bi = 0; bi < batch; bi++) sum += products[bi * M * N + i];
    out[i] = (accumulateInto ? out[i] : 0) + alpha * sum;
  }
  return out;
}

/** y = x · Wᵀ for x (rows × in) and W (out × in), the layout of a linear layer's weight. */
export function linearForward(
  x: Float32Array,
  w: Float32Array,
  rows: number,
  inDim: number,
  outDim: number,
): Float32Array {
  return matmulReference(x, w, { M: rows, N: outDim, K: inDim, transB: true });
}

/** Gradients of y = x · Wᵀ: dx = dy · W, dW = dyᵀ · x. */
export function linearBackward(
  x: Float32Array,
  w: Float32Array,
  dy: Float32Array,
  rows: number,
  inDim: number,
  outDim: number,
): { dx: Float32Array; dw: Float32Array } {
  const dx = matmulReference(dy, w, { M: rows, N: inDim, K: outDim });
  const dw = matmulReference(dy, x, { M: outDim, N: inDim, K: rows, transA: true });
  return { dx, dw };
}
