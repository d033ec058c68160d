// AdamW with decoupled weight decay and global gradient-norm clipping, one parameter
// tensor per dispatch (a stage may bind at most 8 storage buffers).
//   sum_squares  workgroup w of a tensor's `slots` writes Σ g² over its grid-stride share
//                into partials[slot + w] (one slot range per tensor, no atomics).
//   finish_norm  one workgroup: norm = √(Σ partials), clip = min(1, maxNorm / (norm + 1e-6))
//                (1 when clipping is off) into normOut [norm, clip].
//   update       one invocation per element: g = grad · clip, Adam moments, bias
//                correction (bc1 = 1 − β1^t, bc2 = 1 − β2^t from the CPU), and
//                p ← p − lr · (m̂ / (√v̂ + ε) + wd · p). The clip factor is read from normOut on
//                the GPU, so there is no CPU round trip between the norm and the update.

struct NormParams {
  n: u32,
  slot: u32, // first partial slot of this tensor (sum_squares) / number of slots (finish_norm)
  maxNorm: f32,
  clip: u32, // 1: clipping on
}

struct UpdateParams {
  n: u32,
  lr: f32,
  weightDecay: f32,
  beta1: f32,
  beta2: f32,
  eps: f32,
  bc1: f32,
  bc2: f32,
  useClip: u32, // 0: this group is excluded from clipping
}

// From TypeScript (src/gpu/ops/shader-constants.ts), appended by the loader: WG (ADAMW_WORKGROUP).

@group(0) @binding(0) var<uniform> np: NormParams;
@group(0) @binding(1) var<storage, read> gradIn: array<f32>;
@group(0) @binding(2) var<storage, read_write> partials: array<f32>;
// finish_norm
@group(0) @binding(1) var<storage, read> partialsIn: array<f32>;
@group(0) @binding(2) var<storage, read_write> normOut: array<f32>;
// update
@group(0) @binding(0) var<uniform> up: UpdateParams;
@group(0) @binding(1) var<storage, read_write> param: array<f32>;
@group(0) @binding(2) var<storage, read> grad: array<f32>;
@group(0) @binding(3) var<storage, read_write> m: array<f32>;
@group(0) @binding(4) var<storage, read_write> v: array<f32>;
@group(0) @binding(5) var<storage, read> normIn: array<f32>;

var<workgroup> red: array<f32, WG>;

fn workgroupSum(lid: u32, value: f32) -> f32 {
  red[lid] = value;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) {
      red[lid] += red[lid + s];
    }
    workgroupBarrier();
  }
  return red[0];
}

@compute @workgroup_size(WG)
fn sum_squares(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_id) lid: vec3<u32>,
) {
  var ss = 0.0;
  let stride = nwg.x * WG;
  for (var i = wid.x * WG + lid.x; i < np.n; i += stride) {
    let g = gradIn[i];
    ss = fma(g, g, ss);
  }
  let total = workgroupSum(lid.x, ss);
  if (lid.x == 0u) {
    partials[np.slot + wid.x] = total;
  }
}

@compute @workgroup_size(WG)
fn finish_norm(@builtin(local_invocation_id) lid: vec3<u32>) {
  var ss = 0.0;
  for (var i = lid.x; i < np.slot; i += WG) {
    ss += partialsIn[i];
  }
  let total = workgroupSum(lid.x, ss);
  if (lid.x == 0u) {
    let norm = sqrt(total);
    var clip = 1.0;
    if (np.clip != 0u) {
      clip = min(1.0, np.maxNorm / (norm + 1e-6));
    }
    normOut[0] = norm;
    normOut[1] = clip;
  }
}

@compute @workgroup_size(WG)
fn update(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_id) lid: vec3<u32>,
) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid.x;
  if (i >= up.n) {
    return;
  }
  var g = grad[i];
  if (up.useClip != 0u) {
    g *= normIn[1];
  }
  let mi = up.beta1 * m[i] + (1.0 - up.beta1) * g;
  let vi = up.beta2 * v[i] + (1.0 - up.beta2) * g * g;
  m[i] = mi;
  v[i] = vi;
  let mhat = mi / up.bc1;
  let vhat = vi / up.bc2;
  let pi = param[i];
  param[i] = pi - up.lr * (mhat / (sqrt(vhat) + up.eps) + up.weightDecay * pi);
}
