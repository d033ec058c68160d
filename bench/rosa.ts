// ROSA scan benchmark: symbols per second of the CPU scan (docs/design.md "Performance"), printed
// as JSON. `npm run bench:rosa` (add `-- --quick` for a smaller grid, `-- --pool-only` for the pool rows).
//
// Rows: T ∈ {1k, 4k, 16k, 64k} × bits ∈ {1, 2, 4} × input ∈ {random, run-heavy, periodic}, scanned
// on this thread (scanLanes, what one worker does), plus the worker pool with 1 and with all
// workers on the larger shapes, the other two modes, and the native C++ anchor (bench/native,
// built with g++ -O2 when g++ exists) on the same symbols. Timings are the best of several
// repetitions, JS and native repetitions interleaved, because other processes share the CPUs:
// compare figures of one run only. Outputs of JS and native are compared by checksum.

import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { rng } from '../src/gpu/random.ts';
import { ScanArena } from '../src/rosa-worker/arena.ts';
import {
  allocateScanInputs,
  allocateScanOutputs,
  paddedLength,
  type RosaMode,
  type ScanOutputs,
  type ScanShape,
} from '../src/rosa-worker/layout.ts';
import { createNodeRosaPool } from '../src/rosa-worker/platform/node.ts';
import type { RosaWorkerPool } from '../src/rosa-worker/pool.ts';
import { type ScanInput, scanLanes } from '../src/rosa-worker/scan.ts';

type InputKind = 'random' | 'run-heavy' | 'periodic';

const quick = process.argv.includes('--quick');
/** Only the pool rows (training-shaped and long lanes): `npm run bench:rosa -- --pool-only`. */
const poolOnly = process.argv.includes('--pool-only');
const Ts = quick ? [1024, 16384] : [1024, 4096, 16384, 65536];
const bitsList = [1, 2, 4];
const kinds: InputKind[] = ['random', 'run-heavy', 'periodic'];
/** Symbols per repetition (lanes = this / T, at least 2). */
const symbolsPerRep = quick ? 1 << 18 : 1 << 19;

function makeInput(
  shape: ScanShape,
  kind: InputKind,
  mode: RosaMode,
  shared: boolean,
  seed: number,
): ScanInput {
  const { qSym, kSym } = allocateScanInputs(shape, shared);
  const r = rng(seed);
  const top = 1 << shape.bits;
  const per = paddedLength(shape.T);
  for (let lane = 0; lane < shape.lanes; lane++) {
    let q = 0;
    let k = 0;
    for (let t = 0; t < shape.T; t++) {
      if (kind === 'random') {
        q = Math.floor(r() * top);
        k = Math.floor(r() * top);
      } else if (kind === 'run-heavy') {
        // Runs of mean length 8: what run-length encoding is for.
        if (r() < 1 / 8) q = Math.floor(r() * top);
        if (r() < 1 / 8) k = Math.floor(r() * top);
      } else {
        // t mod 3 (folded into the alphabet), the query one step ahead: long repeated contexts.
        k = (t % 3) % top;
        q = ((t + 1) % 3) % top;
      }
      qSym[lane * per + t] = q;
      kSym[lane * per + t] = k;
    }
  }
  return { mode, shape, qSym, kSym };
}

function lanesFor(T: number): number {
  return Math.max(2, Math.floor(symbolsPerRep / T));
}

/** Same formula as bench/native/rosa_tuning_scan.cpp, over dest and the used rcf rows. */
function checksum(out: ScanOutputs, shape: ScanShape): number {
  const { T, bits, lanes } = shape;
  let sum = 0;
  for (let lane = 0; lane < lanes; lane++) {
    let runs = 0;
    for (let t = 0; t < T; t++) {
      sum += (out.dest[lane * T + t] + 1) * ((t % 7) + 1);
      runs = out.qRunId[lane * T + t] + 1;
    }
    const base = lane * T * bits * 2;
    for (let i = 0; i < runs * bits * 2; i++) sum += (out.rcf[base + i] + 1) * ((i % 5) + 1);
  }
  return sum;
}

interface Row {
  what: 'scan' | 'pool' | 'native';
  mode: RosaMode;
  input: InputKind;
  T: number;
  bits: number;
  lanes: number;
  workers?: number;
  /** Scan only (dest, qRunId, rcf, kRunStart) for 'scan' rows; everything for 'pool' rows. */
  symbolsPerSecond: number;
  msPerRep: number;
  /** 'scan' rows: scanLanes including the inverse index lists. */
  withInverseListsPerSecond?: number;
  /** Symbols per second of process CPU time (less sensitive to other processes than wall time). */
  perCpuSecond?: number;
  /** 'pool' rows: summed scan time inside the workers, and its ratio to the 1-worker pool. */
  workerScanMs?: number;
  workerTimeGrowth?: number;
  /** Lanes that took the ancestry index (the periodic-input path). */
  indexedLanes?: number;
  bytesPerAutomaton?: number;
  checksum?: number;
}

const rows: Row[] = [];
const round = (x: number, digits = 0) => Number(x.toFixed(digits));

// --- Native anchor -----------------------------------------------------------------------------

const here = dirname(fileURLToPath(import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'rosa-bench-'));
let nativeBinary: string | null = null;
let nativeNote = '';
try {
  execFileSync('g++', ['--version'], { stdio: 'ignore' });
  nativeBinary = join(work, 'rosa_tuning_scan');
  execFileSync('g++', [
    '-O2',
    '-std=c++17',
    '-o',
    nativeBinary,
    join(here, 'native', 'rosa_tuning_scan.cpp'),
  ]);
} catch (error) {
  nativeBinary = null;
  nativeNote = `native anchor skipped: ${(error as Error).message.split('\n')[0]}`;
}

/** Writes lanes × (q[T], k[T]) for the native scan; returns the file. */
function nativeInputFile(input: ScanInput, lanes: number): string {
  const { T } = input.shape;
  const per = paddedLength(T);
  const bytes = new Uint8Array(lanes * T * 2);
  for (let lane = 0; lane < lanes; lane++) {
    bytes.set(input.qSym.subarray(lane * per, lane * per + T), lane * 2 * T);
    bytes.set(input.kSym.subarray(lane * per, lane * per + T), lane * 2 * T + T);
  }
  const file = join(work, 'input.bin');
  writeFileSync(file, bytes);
  return file;
}

function runNative(file: string, lanes: number, T: number, bits: number, repeats: number) {
  const result = spawnSync(nativeBinary!, [file, String(lanes), String(T), String(bits), String(repeats)]);
  if (result.status !== 0) throw new Error(`native anchor failed: ${result.stderr.toString()}`);
  return JSON.parse(result.stdout.toString()) as {
    seconds: number;
    cpuSeconds: number;
    symbolsPerSecond: number;
    checksum: number;
  };
}

// --- Single-thread scans (what one worker does) ------------------------------------------------

function scanRow(
  mode: RosaMode,
  kind: InputKind,
  T: number,
  bits: number,
  reps: number,
  withNative: boolean,
) {
  const lanes = lanesFor(T);
  const shape = { lanes, T, bits };
  const input = makeInput(shape, kind, mode, false, T * 31 + bits);
  const out = allocateScanOutputs(shape);
  let arena = new ScanArena(T, 1 << bits);
  // Bytes of one lane's automaton (transition rows + per-state fields), then warm up.
  arena = scanLanes(input, out, 0, 1, arena);
  const bytesPerAutomaton = arena.sam.usedBytes;
  arena = scanLanes(input, out, 0, lanes, arena);
  const indexedBefore = arena.indexedLanes;
  const file = withNative && nativeBinary ? nativeInputFile(input, lanes) : null;
  let jsBest = Number.POSITIVE_INFINITY;
  let jsCpuBest = Number.POSITIVE_INFINITY;
  let fullBest = Number.POSITIVE_INFINITY;
  let nativeBest = Number.POSITIVE_INFINITY;
  let nativeCpuBest = Number.POSITIVE_INFINITY;
  let nativeSum = 0;
  for (let i = 0; i < reps; i++) {
    // The scan alone (what the native anchor does), then with the inverse index lists.
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    scanLanes(input, out, 0, lanes, arena, { inverseIndices: false });
    jsBest = Math.min(jsBest, performance.now() - t0);
    const cpu = process.cpuUsage(c0);
    jsCpuBest = Math.min(jsCpuBest, (cpu.user + cpu.system) / 1000);
    const t1 = performance.now();
    scanLanes(input, out, 0, lanes, arena);
    fullBest = Math.min(fullBest, performance.now() - t1);
    if (file) {
      const native = runNative(file, lanes, T, bits, 2);
      nativeBest = Math.min(nativeBest, native.seconds * 1000);
      nativeCpuBest = Math.min(nativeCpuBest, native.cpuSeconds * 1000);
      nativeSum = native.checksum;
    }
  }
  const sum = mode === 'rosa-tuning' ? checksum(out, shape) : undefined;
  rows.push({
    what: 'scan',
    mode,
    input: kind,
    T,
    bits,
    lanes,
    symbolsPerSecond: round((lanes * T) / (jsBest / 1000)),
    msPerRep: round(jsBest, 2),
    withInverseListsPerSecond: round((lanes * T) / (fullBest / 1000)),
    perCpuSecond: round((lanes * T) / (jsCpuBest / 1000)),
    indexedLanes: (arena.indexedLanes - indexedBefore) / (2 * reps),
    bytesPerAutomaton,
    checksum: sum,
  });
  if (file) {
    rows.push({
      what: 'native',
      mode,
      input: kind,
      T,
      bits,
      lanes,
      symbolsPerSecond: round((lanes * T) / (nativeBest / 1000)),
      msPerRep: round(nativeBest, 2),
      perCpuSecond: round((lanes * T) / (nativeCpuBest / 1000)),
      checksum: nativeSum,
    });
  }
}

// --- Pool --------------------------------------------------------------------------------------

/**
 * The same batch through a 1-worker and an N-worker pool, repetitions interleaved. Besides the
 * rates, reports how much the workers' own scan time (summed) grows with N workers: ≈1 when the
 * machine gives each worker a core, ≈N when the workers only share one.
 */
async function poolRows(
  pools: RosaWorkerPool[],
  kind: InputKind,
  T: number,
  bits: number,
  reps: number,
  lanes = Math.max(8, lanesFor(T)),
) {
  const shape = { lanes, T, bits };
  const input = makeInput(shape, kind, 'rosa-tuning', true, T * 17 + bits);
  const out = allocateScanOutputs(shape, true);
  const best = pools.map(() => Number.POSITIVE_INFINITY);
  const workerMs = pools.map(() => Number.POSITIVE_INFINITY);
  const indexed = pools.map(() => 0);
  for (const pool of pools) await pool.scan(input, out);
  for (let i = 0; i < reps; i++) {
    for (const [p, pool] of pools.entries()) {
      const t0 = performance.now();
      const report = await pool.scan(input, out);
      best[p] = Math.min(best[p], performance.now() - t0);
      workerMs[p] = Math.min(workerMs[p], report.workerMs);
      indexed[p] = report.indexedLanes;
    }
  }
  for (const [p, pool] of pools.entries()) {
    rows.push({
      what: 'pool',
      mode: 'rosa-tuning',
      input: kind,
      T,
      bits,
      lanes,
      workers: pool.size,
      symbolsPerSecond: round((lanes * T) / (best[p] / 1000)),
      msPerRep: round(best[p], 2),
      workerScanMs: round(workerMs[p], 1),
      workerTimeGrowth: round(workerMs[p] / workerMs[0], 2),
      indexedLanes: indexed[p],
    });
  }
}

// --- Run ---------------------------------------------------------------------------------------

const started = performance.now();
for (const T of poolOnly ? [] : Ts) {
  for (const bits of bitsList) {
    for (const kind of kinds) {
      // Native periodic input is quadratic (the reference e-update): only up to 4k here.
      const withNative = bits === 4 && !(kind === 'periodic' && T > 4096);
      const headline = bits === 4 && kind === 'random' && T === Ts[Ts.length - 1];
      scanRow('rosa-tuning', kind, T, bits, headline ? 12 : bits === 4 ? 5 : 3, withNative);
    }
  }
}
const bigT = Ts[Ts.length - 1];
for (const mode of poolOnly ? [] : (['exact', 'rwkv8'] as RosaMode[])) {
  for (const kind of kinds) scanRow(mode, kind, 16384, 4, 3, false);
}

// The anchor on periodic input at the largest T, one lane (it walks whole suffix-link chains).
let nativePeriodic: Row | null = null;
if (nativeBinary && !poolOnly) {
  const shape = { lanes: 1, T: bigT, bits: 4 };
  const input = makeInput(shape, 'periodic', 'rosa-tuning', false, 7);
  const native = runNative(nativeInputFile(input, 1), 1, bigT, 4, 1);
  nativePeriodic = {
    what: 'native',
    mode: 'rosa-tuning',
    input: 'periodic',
    T: bigT,
    bits: 4,
    lanes: 1,
    symbolsPerSecond: round(native.symbolsPerSecond),
    msPerRep: round(native.seconds * 1000, 2),
    checksum: native.checksum,
  };
  rows.push(nativePeriodic);
}

const pools = [...new Set([1, availableParallelism()])].map((size) => createNodeRosaPool({ size }));
await Promise.all(pools.map((pool) => pool.ready()));
// Training-shaped calls (batch 8 × 16 routes of 4 bits at T = 256), then long lanes.
await poolRows(pools, 'random', 256, 4, 30, 128);
await poolRows(pools, 'run-heavy', 256, 4, 30, 128);
for (const T of Ts.filter((t) => t >= 16384)) {
  for (const kind of kinds) await poolRows(pools, kind, T, 4, kind === 'random' ? 8 : 3);
}
await Promise.all(pools.map((pool) => pool.terminate()));

// --- Summary against the targets of the task -----------------------------------------------------

const find = (what: Row['what'], input: InputKind, T: number, extra: Partial<Row> = {}) =>
  rows.find(
    (r) =>
      r.what === what &&
      r.input === input &&
      r.T === T &&
      r.bits === (extra.bits ?? 4) &&
      r.mode === (extra.mode ?? 'rosa-tuning') &&
      (extra.workers === undefined || r.workers === extra.workers),
  );
const js64 = find('scan', 'random', bigT);
const native64 = find('native', 'random', bigT);
const periodic64 = find('scan', 'periodic', bigT);
const pool1 = find('pool', 'random', bigT, { workers: 1 });
const poolN = find('pool', 'random', bigT, { workers: availableParallelism() });
const train1 = find('pool', 'random', 256, { workers: 1 });
const trainN = find('pool', 'random', 256, { workers: availableParallelism() });
const checksumsAgree = rows
  .filter((r) => r.what === 'native' && r !== nativePeriodic)
  .every((n) => find('scan', n.input, n.T, { bits: n.bits })?.checksum === n.checksum);
const periodicJsSum = (() => {
  if (!nativePeriodic) return null;
  const shape = { lanes: 1, T: bigT, bits: 4 };
  const input = makeInput(shape, 'periodic', 'rosa-tuning', false, 7);
  const out = allocateScanOutputs(shape);
  scanLanes(input, out);
  return checksum(out, shape);
})();

const summary = {
  [`random 4-bit T=${bigT}, one thread / native anchor (target ≥ 0.667)`]:
    js64 && native64 ? round(js64.symbolsPerSecond / native64.symbolsPerSecond, 3) : null,
  [`same, by CPU time (target ≥ 0.667)`]:
    js64?.perCpuSecond && native64?.perCpuSecond ? round(js64.perCpuSecond / native64.perCpuSecond, 3) : null,
  [`random / periodic 4-bit T=${bigT}, one thread (target ≤ 3)`]:
    js64 && periodic64 ? round(js64.symbolsPerSecond / periodic64.symbolsPerSecond, 3) : null,
  [`periodic 4-bit T=${bigT}: one thread / native anchor`]:
    periodic64 && nativePeriodic
      ? round(periodic64.symbolsPerSecond / nativePeriodic.symbolsPerSecond, 1)
      : null,
  [`pool ${availableParallelism()} workers / 1 worker, random 4-bit T=${bigT} (target ≥ 1.7)`]:
    pool1 && poolN && poolN !== pool1 ? round(poolN.symbolsPerSecond / pool1.symbolsPerSecond, 3) : null,
  [`same: workers' summed scan time, ${availableParallelism()} workers / 1 (≈1 if each got a core)`]:
    poolN?.workerTimeGrowth ?? null,
  [`pool ${availableParallelism()} workers / 1 worker, training-shaped 128 lanes × 256, 4-bit (target ≥ 1.8)`]:
    train1 && trainN && trainN !== train1
      ? round(trainN.symbolsPerSecond / train1.symbolsPerSecond, 3)
      : null,
  [`same: workers' summed scan time, ${availableParallelism()} workers / 1`]:
    trainN?.workerTimeGrowth ?? null,
  'native and JS outputs identical (checksums)':
    nativeBinary && !poolOnly ? checksumsAgree && periodicJsSum === nativePeriodic?.checksum : null,
};

rmSync(work, { recursive: true, force: true });
const loadNote = existsSync('/proc/loadavg') ? readFileSync('/proc/loadavg', 'utf8').trim() : 'n/a';
console.log(
  JSON.stringify(
    {
      machine: {
        cpus: availableParallelism(),
        model: cpus()[0]?.model ?? 'unknown',
        node: process.version,
        loadavgAtEnd: loadNote,
      },
      note: 'best-of-N wall times; other processes share these CPUs, compare within one run',
      native: nativeBinary ? 'g++ -O2 bench/native/rosa_tuning_scan.cpp' : nativeNote,
      seconds: round((performance.now() - started) / 1000, 1),
      summary,
      rows,
    },
    null,
    1,
  ),
);
