// Kernel variants for optional WebGPU features. WGSL's `enable` directives must open a module,
// and a module that enables a feature the device lacks does not compile, so a variant cannot
// live inside its family's file. Each variant is a file shaders/<family>-<feature>.wgsl that
// starts with its directive and holds only what differs (its entry points, its reduction);
// the loader puts it in front of the family's file, so it shares that file's bindings, uniform
// struct and helpers. No imports: the command batch and the loader both read this table.

/** Variant file → the family it extends and the device feature it needs. */
export const SHADER_VARIANTS: Readonly<Record<string, { family: string; feature: GPUFeatureName }>> = {
  'rmsnorm-subgroups': { family: 'rmsnorm', feature: 'subgroups' },
  'matmul-f16': { family: 'matmul', feature: 'shader-f16' },
};

/** The family whose file, uniform layouts and constants a shader uses: itself unless a variant. */
export function shaderFamily(shader: string): string {
  return SHADER_VARIANTS[shader]?.family ?? shader;
}

/** The WGSL text of `shader` before the generated constants: a variant's file, then its family's. */
export function composeShader(shader: string, load: (name: string) => string): string {
  const variant = SHADER_VARIANTS[shader];
  if (!variant) return load(shader);
  const own = load(shader);
  return `${own.endsWith('\n') ? own : `${own}\n`}\n// ---- shaders/${variant.family}.wgsl\n${load(variant.family)}`;
}
