// Wrappers for shaders/rosa-scan-outputs.wgsl: what the GPU derives from the scan's upload, so
// that only dest, qRunId, rcf and kRunStart cross the bus (as u16 when T allows, packNarrowScan in
// layout.ts) and the CSR inverse lists the backward gathers over are built on the GPU. CPU twins:
// widenNarrowScanReference (src/gpu/reference/rosa-scan-outputs.ts) and buildInverseIndices
// (src/rosa-worker/layout.ts).

import { narrowScanElements, type ScanShape, scanSizes } from '../../rosa-worker/layout.ts';
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
  if (Math.ceil(lanes / ROSA_LANE_WORKGROUP) > MAX_WORKGROUPS_PER_DIM) {
    throw new GpuError(
      'invalid-shape',
      `${where}: lanes = ${lanes} is over ${MAX_WORKGROUPS_PER_DIM * ROSA_LANE_WORKGROUP}`,
    );
  }
}

/** u32 words of the narrow upload for `shape`. */
export function narrowScanWords(shape: ScanShape): number {
  return Math.ceil(narrowScanElements(shape) / 2);
}

/** Records the widening of the narrow upload `packed` into scan.dest, qRunId, rcf and kRunStart. */
export function rosaWidenScan(
  batch: CommandBatch,
  packed: Tensor,
  scan: RosaScanTensors,
  shape: ScanShape,
): void {
  const where = 'rosaWidenScan';
  checkShape(where, shape);
  const total = narrowScanElements(shape);
  needTensor(where, packed, narrowScanWords(shape), 'packed', 'u32');
  const sizes = scanSizes(shape);
  const outputs = [scan.dest, scan.qRunId, scan.rcf, scan.kRunStart];
  for (const [i, name] of (['dest', 'qRunId', 'rcf', 'kRunStart'] as const).entries()) {
    needTensor(where, outputs[i], sizes[name], `scan.${name}`, 'i32');
    needDistinct(where, outputs[i], packed, 'packed');
  }
  if (total === 0) return;
  batch.dispatch({
    shader: 'rosa-scan-outputs',
    entryPoint: 'widen',
    label: `rosa widen scan lanes${shape.lanes} T${shape.T} bits${shape.bits}`,
    uniforms: ROSA_SCAN_OUTPUT_PARAMS.pack({ ...shape, total }),
    buffers: [packed, ...outputs],
    workgroups: spreadWorkgroups(Math.ceil(total / ROSA_WORKGROUP)),
  });
}

/**
 * Records the two dispatches that fill scan.destInv* (from dest) and scan.cfInv* (from qRunId and
 * rcf), every element written, identical to buildInverseIndices on the same inputs.
 */
export function rosaBuildInverseLists(batch: CommandBatch, scan: RosaScanTensors, shape: ScanShape): void {
  const where = 'rosaBuildInverseLists';
  checkShape(where, shape);
  const sizes = scanSizes(shape);
  for (const name of Object.keys(sizes) as Array<keyof typeof sizes>) {
    if (name !== 'sym') needTensor(where, scan[name], sizes[name], `scan.${name}`, 'i32');
  }
  if (shape.lanes === 0) return;
  const uniforms = ROSA_SCAN_OUTPUT_PARAMS.pack({ ...shape, total: 0 });
  const workgroups = [Math.ceil(shape.lanes / ROSA_LANE_WORKGROUP)] as const;
  const label = `lanes${shape.lanes} T${shape.T} bits${shape.bits}`;
  batch.dispatch({
    shader: 'rosa-scan-outputs',
    entryPoint: 'dest_inverse',
    label: `rosa dest inverse ${label}`,
    uniforms,
    buffers: [scan.dest, scan.destInvOffsets, scan.destInvPositions],
    workgroups,
  });
  batch.dispatch({
    shader: 'rosa-scan-outputs',
    entryPoint: 'cf_inverse',
    label: `rosa cf inverse ${label}`,
    uniforms,
    buffers: [scan.qRunId, scan.rcf, scan.cfInvOffsets, scan.cfInvPositions],
    workgroups,
  });
}
