// Total memory a training run needs, estimated before it starts, and the budget it must fit.
// The terms follow what the model allocates (src/gpu/model/model.ts: parameters with their
// gradient and two AdamW moments, the activations every layer keeps for backward, the
// activation gradients, the ROSA scan buffers) and the backends' scratch. Only the largest
// single buffer used to be checked; a 64-layer, 1024-wide model then passed with ~40 GB in all.

import { attentionKind, attentionWidth, headDim, kvHeadCount, rosaLayers } from '../gpu/model/config.ts';
import { parameterCount } from '../gpu/model/params.ts';
import { lagkvKeepCount, lrsaChunkCounts } from '../gpu/reference/lrsa.ts';
import { paddedLength, scanSizes } from '../rosa-worker/layout.ts';
import type { BackendKind, ModelConfig } from './schema.ts';

const F32 = 4;
export const GiB = 2 ** 30;

export interface MemoryEstimate {
  /** Weights, their gradients and the AdamW moments m and v (4 × parameters). */
  parameters: number;
  optimizer: number;
  /** Forward activations every layer keeps for backward, plus logits and scratch. */
  activations: number;
  /** Gradients of the activations (one set, reused by every layer). */
  activationGradients: number;
  /** ROSA scan results per ROSA layer (dest, runs, counterfactuals, inverse lists) and symbols. */
  scan: number;
  /** Backend scratch (attention row statistics, ROSA backward scratch, reduction partials). */
  scratch: number;
  total: number;
}

/** Bytes of a training step with batch × seqLen tokens on `backend`, at the widest sequence. */
export function estimateRunMemory(model: ModelConfig, batch: number, backend: BackendKind): MemoryEstimate {
  const { width: C, mlpHidden: Fh, vocabSize: V, heads: H, layers } = model;
  const B = batch;
  const T = model.seqLen;
  const N = B * T;
  const Hkv = kvHeadCount(model);
  const kvWidth = N * Hkv * headDim(model);
  // q, k, v and the attention output are heads · headDim wide (= C unless headDim is set).
  const A = attentionWidth(model);
  const grouped = Hkv !== H;
  const rosa = new Set(rosaLayers(model));

  const P = parameterCount(model);
  let acts = 0;
  let scan = 0;
  for (let l = 0; l < layers; l++) {
    // h, u, q, k, v, o, hmid, u2; rstd1, rstd2; lse; a, b, g.
    acts += 4 * N * C + 4 * N * A + 2 * N + N * H + 3 * N * Fh;
    if (model.qkNorm) acts += N * A + kvWidth + N * H + N * Hkv;
    if (attentionKind(model, l) === 'lrsa') {
      const keep = lagkvKeepCount(model.lrsa.chunk, model.lrsa.ratio);
      const shape = { seqLen: T, sink: model.lrsa.sink, chunk: model.lrsa.chunk };
      const scored = lrsaChunkCounts({
        ...shape,
        batch: B,
        heads: H,
        headDim: headDim(model),
        keep,
      }).scoredChunks;
      acts += Math.max(1, B * H * scored * keep);
    }
    if (rosa.has(l)) {
      acts += 4 * N * C; // rq, rk, rv, y
      scan += scanResultElements(B, T, C, model.rosa.bits);
    }
  }
  // tokens, labels; hFinal, hf, tmp, tmp2; rstdF; logits; k/v before widening.
  acts += 2 * N + 4 * N * C + N + N * V + (grouped ? 2 * kvWidth : 0);
  // [N, heads·D] scratch pair when that differs from C (model.ts attnTmp).
  if (A !== C) acts += 2 * N * A;
  // dlogits; dh, dhf, du, du2, dNC1, dNC2, dq, dk, dv; dNF1–3; dkv.
  // With heads·D ≠ C: dq, dk, dv and two scratch gradients at that width (model.ts attn).
  const actGrads = N * V + 9 * N * C + 3 * N * Fh + (grouped ? 2 * kvWidth : 0) + (A !== C ? 5 * N * A : 0);

  let scratch = 0;
  if (backend === 'webgpu') {
    // Attention row statistics (delta), the embedding scatter's lists, rmsnorm dw partials.
    scratch += N * H + V + 1 + N + 2 * C;
    if (rosa.size > 0) {
      const lanes = B * (C / model.rosa.bits);
      // Symbols (q and k) on the device; θ and the V field of the ROSA backward.
      scratch += (2 * lanes * paddedLength(T)) / 4 + 2 * N * C + 2 * C;
    }
  }
  const bytes = (n: number) => n * F32;
  const e = {
    parameters: bytes(P),
    optimizer: bytes(3 * P),
    activations: bytes(acts),
    activationGradients: bytes(actGrads),
    scan: bytes(scan),
    scratch: bytes(scratch),
  };
  return { ...e, total: Object.values(e).reduce((a, b) => a + b, 0) };
}

/** Int32 elements of one layer's scan results (layout.ts), as the model keeps them for backward. */
function scanResultElements(B: number, T: number, C: number, bits: number): number {
  const { sym: _sym, ...rest } = scanSizes({ lanes: B * (C / bits), T, bits });
  return Object.values(rest).reduce((a, b) => a + b, 0);
}

export interface MemoryBudget {
  bytes: number;
  /** Where the figure comes from, for the message. */
  source: string;
}

/** Share of the host's memory a CPU run may take (the page, the browser and the OS need the rest). */
export const HOST_SHARE = 0.5;
/** Assumed when the host's memory is unknown (no navigator.deviceMemory, no os.totalmem). */
export const ASSUMED_HOST_MEMORY = 8 * GiB;
/**
 * WebGPU exposes no total for device memory: the budget is this many times the largest buffer
 * the device allows, unless the caller knows better (SizeLimits.memoryBudget).
 */
export const DEVICE_BUFFERS_BUDGET = 8;

/** The host's memory in bytes where the platform says (browser: navigator.deviceMemory, in GiB). */
export function hostMemoryBytes(): number | null {
  const nav = (globalThis as { navigator?: { deviceMemory?: unknown } }).navigator;
  if (typeof nav?.deviceMemory === 'number' && nav.deviceMemory > 0) return nav.deviceMemory * GiB;
  return null;
}

export function cpuMemoryBudget(hostMemory: number | null | undefined): MemoryBudget {
  if (hostMemory && hostMemory > 0) {
    return { bytes: HOST_SHARE * hostMemory, source: `half of this machine's ${formatBytes(hostMemory)}` };
  }
  return {
    bytes: HOST_SHARE * ASSUMED_HOST_MEMORY,
    source: `half of an assumed ${formatBytes(ASSUMED_HOST_MEMORY)} (this machine's memory is not known)`,
  };
}

export function gpuMemoryBudget(limits: {
  maxBufferSize: number;
  maxStorageBufferBindingSize: number;
  memoryBudget?: number;
}): MemoryBudget {
  if (limits.memoryBudget && limits.memoryBudget > 0) {
    return { bytes: limits.memoryBudget, source: 'the configured device memory budget' };
  }
  const largest = Math.max(limits.maxBufferSize, limits.maxStorageBufferBindingSize);
  return {
    bytes: DEVICE_BUFFERS_BUDGET * largest,
    source: `${DEVICE_BUFFERS_BUDGET} × this device's largest buffer of ${formatBytes(largest)}`,
  };
}

export function formatBytes(bytes: number): string {
  if (bytes >= GiB) return `${(bytes / GiB).toFixed(1)} GiB`;
  if (bytes >= 2 ** 20) return `${(bytes / 2 ** 20).toFixed(bytes >= 10 * 2 ** 20 ? 0 : 1)} MiB`;
  return `${Math.ceil(bytes / 1024)} KiB`;
}
