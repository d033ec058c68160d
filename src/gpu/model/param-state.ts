// Where parameters, their gradients and Adam moments live. On a backend that can cut one
// buffer into slices (the WebGPU one), each of the four is one buffer, laid out by optimizer
// group (the order Model.optimizerStep visits them), so one clear zeroes every gradient and
// one dispatch updates a whole group. Elsewhere every tensor is its own allocation.

import type { Backend, Sized } from './backend.ts';
import type { ParamGroup, ParamSpec } from './params.ts';

export interface ParamState<F> {
  spec: ParamSpec;
  param: F;
  grad: F;
  m: F;
  v: F;
}

/** The optimizer's groups, in the order it records them: group, then decayed before not. */
export const OPTIMIZER_GROUPS: ReadonlyArray<{ group: ParamGroup; decay: boolean }> = [
  { group: 'base', decay: true },
  { group: 'base', decay: false },
  { group: 'rosa', decay: true },
  { group: 'rosa', decay: false },
  { group: 'rosa-projection', decay: true },
  { group: 'rosa-projection', decay: false },
];

function groupRank(spec: ParamSpec): number {
  return OPTIMIZER_GROUPS.findIndex((g) => g.group === spec.group && g.decay === spec.decay);
}

function product(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export interface ParamStorage<F> {
  states: Map<string, ParamState<F>>;
  /** Every gradient as one tensor (to zero them at once); null when they are separate. */
  allGrads: F | null;
  /** The whole buffers behind the slices, to free with the model. */
  wholes: F[];
}

/** Allocates and uploads parameters in spec order (the map's order); zero gradients and moments. */
export function allocateParamStorage<F extends Sized, I extends Sized>(
  backend: Backend<F, I>,
  specs: readonly ParamSpec[],
  initial: ReadonlyMap<string, Float32Array>,
): ParamStorage<F> {
  const layout = specs
    .map((spec, i) => ({ spec, i }))
    .sort((a, b) => groupRank(a.spec) - groupRank(b.spec) || a.i - b.i)
    .map((x) => x.spec);
  const lengths = layout.map((s) => product(s.shape));
  const kinds = ['param', 'grad', 'm', 'v'] as const;
  const sliced = backend.allocSlices
    ? kinds.map((kind) =>
        backend.allocSlices!(
          lengths,
          `parameters.${kind}`,
          layout.map((s) => (kind === 'param' ? s.name : `${s.name}.${kind}`)),
        ),
      )
    : null;
  const whole = sliced?.every((s) => s !== null) ? sliced : null;
  if (sliced && !whole) for (const s of sliced) if (s) backend.free(s.whole);

  const states = new Map<string, ParamState<F>>();
  const at = new Map(layout.map((s, i) => [s.name, i]));
  for (const spec of specs) {
    const data = initial.get(spec.name)!;
    const i = at.get(spec.name)!;
    const n = lengths[i];
    if (whole) {
      const [param, grad, m, v] = whole.map((s) => s!.slices[i]);
      backend.write(param, data);
      states.set(spec.name, { spec, param, grad, m, v });
    } else {
      states.set(spec.name, {
        spec,
        param: backend.upload(data, spec.name),
        grad: backend.alloc(n, `${spec.name}.grad`),
        m: backend.alloc(n, `${spec.name}.m`),
        v: backend.alloc(n, `${spec.name}.v`),
      });
    }
  }
  return {
    states,
    allGrads: whole ? whole[1]!.whole : null,
    wholes: whole ? whole.map((s) => s!.whole) : [],
  };
}
