// Wrappers for shaders/rosa-scan-outputs.wgsl: what the GPU derives from the scan's upload, so
// that only dest, qRunId, rcf and kRunStart cross the bus (as u8 or u16 when T allows,
// packNarrowScan in layout.ts) and the CSR inverse lists the backward gathers over are built on the GPU. CPU twins:
// widenNarrowScanReference (src/gpu/reference/rosa-scan-outputs.ts) and buildInverseIndices
// (src/rosa-worker/layout.ts).

import {
  type NarrowScanLayout,
  narrowScanElements,
  narrowScanMaxWords,
  type ScanShape,
  scanSizes,
} from '../../rosa-worker/layout.ts';
import type { CommandBatch } from '../batch.ts';
import { GpuError } from '../errors.ts';
import type { Tensor } from '../tensor.ts';
import { ROSA_WORKGROUP, type RosaScanTensors } from './rosa.ts';
import { uniformLayout } from './uniforms.ts';
import { MAX_WORKGROUPS_PER_DIM, needDistinct, needTensor, spreadWorkgroups } from './workgroups.ts';

/** Invocations per workgroup of the per-lane entry points (one lane each, walked serially). */
export const ROSA_LANE_WORKGROUP = 32;

export const ROSA_SCAN_OUTPUT_PARAMS = uniformLayout('rosa-scan-outputs', 'Params', {
  lanes: 'u32',
  T: 'u32',
  bits: 'u32',
  total: 'u32',
  startQRunId: 'u32',
  startRcf: 'u32',
  startKRunStart: 'u32',
  wide: 'u32',
});

function checkShape(where: string, { lanes, T, bits }: ScanShape): void {
  for (const [name, value] of [
    ['lanes', lanes],
    ['T', T],
    ['bits', bits],
  ] as const) {
    if (!Number.isInteger(value) || value < 0) {
      throw new GpuError('invalid-shape', `${where}: ${name} must be a whole number ≥ 0 (got ${value})`);
    }
  }
  const maxLanes = Math.floor((MAX_WORKGROUPS_PER_DIM * ROSA_LANE_WORKGROUP) / 2);
  if (lanes > maxLanes) {
    throw new GpuError('invalid-shape', `${where}: lanes = ${lanes} is over ${maxLanes}`);
  }
}

/** Records the widening of the narrow upload `packed` (laid out as `layout`) into scan.dest, qRunId, rcf, kRunStart. */
export function rosaWidenScan(
  batch: CommandBatch,
  packed: Tensor,
  layout: NarrowScanLayout,
  scan: RosaScanTensors,
  shape: ScanShape,
): void {
  const where = 'rosaWidenScan';
  checkShape(where, shape);
  const total = narrowScanElements(shape);
  if (!(layout.words <= narrowScanMaxWords(shape))) {
    throw new GpuError(
      'invalid-shape',
      `${where}: layout.words = ${layout.words} is over ${narrowScanMaxWords(shape)} for this shape`,
    );
  }
  needTensor(where, packed, layout.words, 'packed', 'u32');
  const sizes = scanSizes(shape);
  const outputs = [scan.dest, scan.qRunId, scan.rcf, scan.kRunStart];
  for (const [i, name] of (['dest', 'qRunId', 'rcf', 'kRunStart'] as const).entries()) {
    needTensor(where, outputs[i], sizes[name], `scan.${name}`, 'i32');
    needDistinct(where, outputs[i], packed, 'packed');
  }
  if (total === 0) return;
  const [, startQRunId, startRcf, startKRunStart] = layout.starts;
  batch.dispatch({
    shader: 'rosa-scan-outputs',
    entryPoint: 'widen',
    label: `rosa widen scan lanes${shape.lanes} T${shape.T} bits${shape.bits}`,
    uniforms: ROSA_SCAN_OUTPUT_PARAMS.pack({
      ...shape,
      total,
      startQRunId,
      startRcf,
      startKRunStart,
      wide: layout.wide,
    }),
    buffers: [packed, ...outputs],
    workgroups: spreadWorkgroups(Math.ceil(total / ROSA_WORKGROUP)),
  });
}

/**
 * Records the dispatch that fills scan.destInv* (from dest) and scan.cfInv* (from qRunId and rcf),
 * every element written, identical to buildInverseIndices on the same inputs.
 */
export function rosaBuildInverseLists(batch: CommandBatch, scan: RosaScanTensors, shape: ScanShape): void {
  const where = 'rosaBuildInverseLists';
  checkShape(where, shape);
  const sizes = scanSizes(shape);
  for (const name of Object.keys(sizes) as Array<keyof typeof sizes>) {
    if (name !== 'sym') needTensor(where, scan[name], sizes[name], `scan.${name}`, 'i32');
  }
  if (shape.lanes === 0) return;
  const uniforms = ROSA_SCAN_OUTPUT_PARAMS.pack({
    ...shape,
    total: 0,
    startQRunId: 0,
    startRcf: 0,
    startKRunStart: 0,
    wide: 0,
  });
  // One dispatch: the first `lanes` invocations build the dest lists, the next `lanes` the cf lists.
  batch.dispatch({
    shader: 'rosa-scan-outputs',
    entryPoint: 'inverse_lists',
    label: `rosa inverse lists lanes${shape.lanes} T${shape.T} bits${shape.bits}`,
    uniforms,
    buffers: [
      scan.dest,
      scan.qRunId,
      scan.rcf,
      scan.destInvOffsets,
      scan.destInvPositions,
      scan.cfInvOffsets,
      scan.cfInvPositions,
    ],
    workgroups: [Math.ceil((2 * shape.lanes) / ROSA_LANE_WORKGROUP)],
  });
}
