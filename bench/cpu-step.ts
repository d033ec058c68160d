// `npm run bench:cpu [-- --T 256 --width 64 --layers 2 --heads 2 --mlp 128 --batch 8 --window 32
//   --variant window|global --steps 5 --threads 1 --profile --relaxed-simd]`
// Times one training step (forward + backward + AdamW with clipping) of the decoder on the CPU
// backend (--threads: cpu.threads, for the linear layers' matmuls and attention), random tokens, the same shapes as bench/torch_step.py takes, so the two
// JSON lines compare directly. --profile adds the time per backend op (summed over the timed
// steps, divided by their count). stepFlops is the analytical count of a step (matmul and
// attention, forward and backward: src/config/duration.ts), with the ratio to the window variant
// of the same shape (what a ROSA adapter's projections add). JSON on stdout. Not a test.

import './relaxed-simd-flag.ts';
import { cpus } from 'node:os';
import { stepFlopParts } from '../src/config/duration.ts';
import { matmulFusedMultiplyAdd } from '../src/gpu/cpu/matmul.ts';
import { defaultModelConfig, type Variant } from '../src/gpu/model/config.ts';
import { CpuBackend } from '../src/gpu/model/cpu-backend.ts';
import { Model } from '../src/gpu/model/model.ts';
import { initialParameters } from '../src/gpu/model/params.ts';
import { inlineScanner } from '../src/gpu/model/scanners.ts';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
function strArg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

const T = arg('T', 256);
const width = arg('width', 64);
const layers = arg('layers', 2);
const heads = arg('heads', 2);
const mlpHidden = arg('mlp', 2 * width);
const B = arg('batch', 8);
const window = arg('window', 32);
const vocabSize = arg('vocab', 97);
const steps = arg('steps', 5);
const warmup = arg('warmup', 2);
const variant = strArg('variant', 'window') as Variant;
const threads = arg('threads', 1);
const profile = process.argv.includes('--profile');

const configOf = (v: Variant) =>
  defaultModelConfig({
    vocabSize,
    seqLen: T,
    layers,
    width,
    heads,
    mlpHidden,
    window,
    variant: v,
    globalLayers: [],
  });
const config = configOf(variant);
const flops = stepFlopParts(config, B, T);
const flopsTotal = flops.matmul + flops.attention;
const windowFlops = stepFlopParts(configOf('window'), B, T);
const backend = new CpuBackend({ threads });
await backend.ready();
const model = new Model(backend, config, initialParameters(config, 1));

// Per-op timing: every op of the CPU backend runs synchronously, so wrapping the methods times them.
const opMs = new Map<string, number>();
if (profile) {
  const target = backend as unknown as Record<string, unknown>;
  const proto = Object.getPrototypeOf(backend) as Record<string, unknown>;
  for (const name of Object.getOwnPropertyNames(proto)) {
    const fn = proto[name];
    if (name === 'constructor' || typeof fn !== 'function') continue;
    target[name] = (...args: unknown[]) => {
      const t = performance.now();
      const r = (fn as (...a: unknown[]) => unknown).apply(backend, args);
      opMs.set(name, (opMs.get(name) ?? 0) + performance.now() - t);
      return r;
    };
  }
}

let seed = 12345;
const rand = () => {
  seed = (seed * 1103515245 + 12345) >>> 0;
  return seed / 4294967296;
};
const tokens = new Int32Array(B * T);
const labels = new Int32Array(B * T);
const scanner = inlineScanner();
const times: number[] = [];
// CPU time per step as well: on a shared machine, wall time counts the waits for a core.
const cpuTimes: number[] = [];
const phases = { forward: 0, backward: 0, optimizer: 0 };
for (let s = 0; s < warmup + steps; s++) {
  for (let i = 0; i < tokens.length; i++) {
    tokens[i] = Math.floor(rand() * vocabSize);
    labels[i] = Math.floor(rand() * vocabSize);
  }
  if (s === warmup) opMs.clear();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await model.forward(tokens, labels, B, T, scanner, true);
  const t1 = performance.now();
  model.backward();
  const t2 = performance.now();
  model.optimizerStep(
    { base: 3e-3, rosa: 3e-3 },
    { beta1: 0.9, beta2: 0.98, eps: 1e-8, maxGradNorm: 1, weightDecay: 0.01 },
    s + 1,
  );
  await backend.readGradNorm();
  const t3 = performance.now();
  if (s >= warmup) {
    const cpu = process.cpuUsage(c0);
    cpuTimes.push((cpu.user + cpu.system) / 1000);
    times.push(t3 - t0);
    phases.forward += (t1 - t0) / steps;
    phases.backward += (t2 - t1) / steps;
    phases.optimizer += (t3 - t2) / steps;
  }
}
const sorted = [...times].sort((a, b) => a - b);
const ops = Object.fromEntries(
  [...opMs.entries()].sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, Number((v / steps).toFixed(2))]),
);
console.log(
  JSON.stringify({
    impl: 'ts-cpu',
    cpus: cpus().length,
    cpu: cpus()[0]?.model ?? null,
    fusedMultiplyAdd: matmulFusedMultiplyAdd,
    threads: backend.threading,
    shape: { T, width, layers, heads, mlpHidden, batch: B, window, vocabSize, variant },
    params: model.parameterCount,
    stepMsMedian: sorted[sorted.length >> 1],
    stepMsMin: sorted[0],
    stepCpuMsMedian: [...cpuTimes].sort((a, b) => a - b)[cpuTimes.length >> 1],
    stepMs: times.map((t) => Number(t.toFixed(1))),
    stepFlops: { ...flops, total: flopsTotal },
    flopsVsWindow: flopsTotal / (windowFlops.matmul + windowFlops.attention),
    gflopsPerSecond: flopsTotal / sorted[sorted.length >> 1] / 1e6,
    phasesMs: Object.fromEntries(Object.entries(phases).map(([k, v]) => [k, Number(v.toFixed(1))])),
    ...(profile ? { opsMs: ops } : {}),
  }),
);
model.dispose();
backend.dispose();
