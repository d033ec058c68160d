// The optional WebGPU features the engine asks for where the adapter offers them, what each is
// used for, and the lines the Device tab shows. The device requests every one offered (cheap);
// whether a kernel then uses it is the run's choice (`gpu.subgroups`, `gpu.f16`), and every
// kernel that has a variant keeps a fallback that needs nothing.

export const OPTIONAL_FEATURES = ['timestamp-query', 'subgroups', 'shader-f16'] as const;
export type OptionalFeature = (typeof OPTIONAL_FEATURES)[number];

/** What the engine does with each feature when the device has it, and without it. */
export const FEATURE_USES: Readonly<Record<OptionalFeature, { present: string; absent: string }>> = {
  'timestamp-query': {
    present: 'used for the kernel profile (per-dispatch timings)',
    absent: 'kernels cannot be timed',
  },
  subgroups: {
    present:
      'used for RMSNorm row sums, forward and backward, where a workgroup reduces a row (a run may turn it off: gpu.subgroups)',
    absent: 'RMSNorm reduces through workgroup memory',
  },
  'shader-f16': {
    present:
      'available: runs that set gpu.f16 to auto hold the forward linear layers’ matmul tiles in f16 (off by default: it rounds their inputs)',
    absent: 'every kernel computes in f32',
  },
};

export interface FeatureStatus {
  feature: OptionalFeature;
  /** The device has it (the adapter offered it and the device asked). */
  present: boolean;
  /** What it is used for, or what happens without it. */
  detail: string;
}

/** Where a software adapter has the feature but the engine leaves it unused, and why. */
const UNUSED_ON_SOFTWARE: Partial<Record<OptionalFeature, string>> = {
  subgroups:
    'present, but unused on this software adapter: RMSNorm sums each row in one invocation there (preferredRowStrategy), faster than any workgroup reduction',
};

/** One line per optional feature, from the adapter summary (its device features, software or not). */
export function optionalFeatureStatus(adapter: {
  features: readonly string[];
  isSoftware: boolean;
}): FeatureStatus[] {
  return OPTIONAL_FEATURES.map((feature) => {
    const present = adapter.features.includes(feature);
    const { present: use, absent } = FEATURE_USES[feature];
    const detail = !present
      ? `not offered by this adapter: ${absent}`
      : adapter.isSoftware
        ? (UNUSED_ON_SOFTWARE[feature] ?? use)
        : use;
    return { feature, present, detail };
  });
}

/**
 * Whether kernels with a subgroup variant use it: only where the device has the feature and the
 * run's `gpu.subgroups` setting is not 'off'. Everywhere else they take their fallback.
 */
export function subgroupsInUse(
  device: { hasFeature(feature: OptionalFeature): boolean },
  setting: 'auto' | 'off',
): boolean {
  return setting !== 'off' && device.hasFeature('subgroups');
}

/** Whether forward linear layers use the f16-tile matmul: the feature, and `gpu.f16` = 'auto'. */
export function f16InUse(
  device: { hasFeature(feature: OptionalFeature): boolean },
  setting: 'auto' | 'off',
): boolean {
  return setting === 'auto' && device.hasFeature('shader-f16');
}
