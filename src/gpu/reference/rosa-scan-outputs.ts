// CPU twin of the widen entry point of shaders/rosa-scan-outputs.wgsl: the narrow upload
// (packNarrowScan in src/rosa-worker/layout.ts) back to i32 arrays. The twin of dest_inverse and
// cf_inverse is buildInverseIndices (layout.ts), the builder the workers ran before.

import {
  narrowScanElements,
  type ScanOutputs,
  type ScanShape,
  scanSizes,
  UPLOADED_SCAN_FIELDS,
} from '../../rosa-worker/layout.ts';

export type UploadedScan = Pick<ScanOutputs, (typeof UPLOADED_SCAN_FIELDS)[number]>;

export function widenNarrowScanReference(packed: Uint32Array, shape: ScanShape): UploadedScan {
  const total = narrowScanElements(shape);
  if (packed.length * 2 < total) {
    throw new RangeError(`packed holds ${packed.length} words; the shape needs ${Math.ceil(total / 2)}`);
  }
  const sizes = scanSizes(shape);
  const out = {} as UploadedScan;
  let e = 0;
  for (const field of UPLOADED_SCAN_FIELDS) {
    const a = new Int32Array(sizes[field]);
    for (let i = 0; i < a.length; i++, e++) a[i] = ((packed[e >> 1] >>> ((e & 1) * 16)) & 0xffff) - 1;
    out[field] = a;
  }
  return out;
}
