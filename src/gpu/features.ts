// The optional WebGPU features the engine asks for where the adapter offers them, what each is
// used for, and the lines the Device tab shows. The device requests every one offered (cheap);
// whether a kernel then uses it is the kernel's choice (and, for subgroups, the run's
// `gpu.subgroups` setting), with a fallback that needs nothing.

export const OPTIONAL_FEATURES = ['timestamp-query', 'subgroups', 'shader-f16'] as const;
export type OptionalFeature = (typeof OPTIONAL_FEATURES)[number];

/** What uses each feature (null where nothing does yet), and what happens without it. */
export const FEATURE_USES: Readonly<Record<OptionalFeature, { use: string | null; without: string }>> = {
  'timestamp-query': {
    use: 'the kernel profile (per-dispatch timings)',
    without: 'kernels cannot be timed',
  },
  subgroups: {
    use: 'RMSNorm row sums, forward and backward, where a workgroup reduces a row (a run may turn it off: gpu.subgroups)',
    without: 'RMSNorm reduces through workgroup memory',
  },
  'shader-f16': { use: null, without: 'every kernel computes in f32' },
};

export interface FeatureStatus {
  feature: OptionalFeature;
  /** The device has it (the adapter offered it and the device asked). */
  present: boolean;
  /** What it is used for, or why it is not. */
  detail: string;
}

/** One line per optional feature, from the device's feature list (AdapterSummary.features). */
export function optionalFeatureStatus(deviceFeatures: readonly string[]): FeatureStatus[] {
  return OPTIONAL_FEATURES.map((feature) => {
    const present = deviceFeatures.includes(feature);
    const { use, without } = FEATURE_USES[feature];
    const detail = !present
      ? `not offered by this adapter: ${without}`
      : use
        ? `used for ${use}`
        : 'offered, but no kernel uses it yet';
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
