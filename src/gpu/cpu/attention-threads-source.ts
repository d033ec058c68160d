// What the worker threads of matmul-threads.ts run for attention, and how a (batch, head) unit of
// a published job is found: the workers start from a source string (no bundler or TypeScript
// loader there), built here from the functions themselves (attention-heads.ts: the head loops,
// attention-simd.ts: the kernel wrappers, attentionUnit below), which the calling thread calls
// directly. So every thread runs the one copy of that code. Each unit's outputs (a head's D
// columns of O, or of dQ, dK, dV, and its lse row) are disjoint from every other unit's; its
// scratch is the running thread's slot.

import {
  type AttentionArgs,
  attentionBackwardHead,
  attentionForwardHead,
  attentionHeadUnit,
  type HeadKernels,
} from './attention-heads.ts';
import { attentionKernelsOn } from './attention-simd.ts';
import { ATTENTION_ARGS, ATTENTION_BACKWARD, ATTENTION_SCALE, KIND } from './matmul-threads-control.ts';

/** The attention arguments in the control block, in this order from ATTENTION_ARGS. */
export const ATTENTION_ARG_NAMES = [
  'T',
  'H',
  'D',
  'W',
  'QB',
  'SB',
  'Tp',
  'ldS',
  'oQ',
  'oK',
  'oV',
  'oO',
  'oDO',
  'oDQ',
  'oDK',
  'oDV',
  'oLse',
  'oSlots',
  'slotFloats',
] as const;

/** Where a job is in the control block (an argument of attentionUnit, which is self-contained). */
export const ATTENTION_CONTROL = {
  args: ATTENTION_ARGS,
  scale: ATTENTION_SCALE,
  kind: KIND,
  backward: ATTENTION_BACKWARD,
  names: ATTENTION_ARG_NAMES,
};

type Heads = {
  forward: typeof attentionForwardHead;
  backward: typeof attentionBackwardHead;
  unit: typeof attentionHeadUnit;
};

/** Unit u of the job published in `ctrl`, on scratch slot `slot` (self-contained). */
export function attentionUnit(
  K: HeadKernels,
  ctrl: Int32Array,
  u: number,
  slot: number,
  at: typeof ATTENTION_CONTROL,
  heads: Heads,
): void {
  const a: Record<string, number> = {};
  for (let i = 0; i < at.names.length; i++) a[at.names[i]] = ctrl[at.args + i];
  const scale = new Float64Array(ctrl.buffer, 4 * at.scale, 1)[0];
  const pass = ctrl[at.kind] === at.backward ? heads.backward : heads.forward;
  heads.unit(K, a as unknown as AttentionArgs, pass, scale, u, slot);
}

/** The head functions, for attentionUnit on the calling thread. */
export const HEADS: Heads = {
  forward: attentionForwardHead,
  backward: attentionBackwardHead,
  unit: attentionHeadUnit,
};

// The workers' copy. Bound as expressions, so that a bundler's renaming of the declarations does
// not matter; __name: the helper esbuild's keepNames (tsx) leaves in function bodies.
export const ATTENTION_SOURCE = `
var __name = (f) => f;
const attentionKernelsOn = (${attentionKernelsOn.toString()});
const attentionForwardHead = (${attentionForwardHead.toString()});
const attentionBackwardHead = (${attentionBackwardHead.toString()});
const attentionHeadUnit = (${attentionHeadUnit.toString()});
const attentionUnitOf = (${attentionUnit.toString()});
const attentionAt = ${JSON.stringify(ATTENTION_CONTROL)};
function attentionKernels(direct, blocks, memory) {
  return attentionKernelsOn(direct, blocks, memory);
}
function attentionUnit(K, ctrl, u, slot) {
  attentionUnitOf(K, ctrl, u, slot, attentionAt, {
    forward: attentionForwardHead,
    backward: attentionBackwardHead,
    unit: attentionHeadUnit,
  });
}
`;
