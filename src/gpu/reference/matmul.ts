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
  for (let bi = 0; bi < batch; bi++) {
    const oa = bi * M * K;
    const ob = bi * K * N;
    const oc = bi * M * N;
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        let sum = 0;
        for (let k = 0; k < K; k++) {
          const av = transA ? a[oa + k * M + m] : a[oa + m * K + k];
          const bv = transB ? b[ob + n * K + k] : b[ob + k * N + n];
          sum += av * bv;
        }
        out[oc + m * N + n] = (accumulateInto ? out[oc + m * N + n] : 0) + alpha * sum;
      }
    }
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
