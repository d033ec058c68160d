// CPU twin of the widen entry point of shaders/rosa-scan-outputs.wgsl: the narrow upload
// (packNarrowScan in src/rosa-worker/layout.ts) back to i32 arrays. The twin of inverse_lists
// is buildInverseIndices (layout.ts), the builder the workers ran before.

import {
  type NarrowScanLayout,
  type ScanOutputs,
  type ScanShape,
  scanSizes,
  UPLOADED_SCAN_FIELDS,
} from '../../rosa-worker/layout.ts';

export type UploadedScan = Pick<ScanOutputs, (typeof UPLOADED_SCAN_FIELDS)[number]>;

export function widenNarrowScanReference(
  packed: Uint32Array,
  layout: NarrowScanLayout,
  shape: ScanShape,
): UploadedScan {
  if (packed.length < layout.words) {
    throw new RangeError(`packed holds ${packed.length} words; the layout needs ${layout.words}`);
  }
  const sizes = scanSizes(shape);
  const out = {} as UploadedScan;
  for (const [f, field] of UPLOADED_SCAN_FIELDS.entries()) {
    const a = new Int32Array(sizes[field]);
    const start = layout.starts[f];
    const wide = (layout.wide >> f) & 1;
    for (let i = 0; i < a.length; i++) {
      const raw = wide
        ? (packed[start + (i >> 1)] >>> ((i & 1) * 16)) & 0xffff
        : (packed[start + (i >> 2)] >>> ((i & 3) * 8)) & 0xff;
      a[i] = raw - 1;
    }
    out[field] = a;
  }
  return out;
}
