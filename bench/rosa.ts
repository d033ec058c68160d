// ROSA scan benchmark: symbols per second of the CPU scan (docs/design.md "Performance"), printed
// as JSON. `npm run bench:rosa` (add `-- --quick` for a smaller grid, `-- --pool-only` for the pool rows,
// `-- --anchor` for only the rows of the native anchor's mode: 'rosa-tuning', random 4-bit).
//
// Rows: T ∈ {1k, 4k, 16k, 64k} × bits ∈ {1, 2, 4} × input ∈ {random, run-heavy, periodic}, scanned
// on this thread (scanLanes, what one worker does) by both engines of the 'rosa-tuning' walk (the
// WebAssembly kernel, the default, and the JS one), plus the worker pool with 1 and with all
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
import { ScanArena, type ScanEngine } from '../src/rosa-worker/arena.ts';
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
/** Only the anchor's rows (one thread, no pool): `npm run bench:rosa -- --anchor`. */
const anchorOnly = process.argv.includes('--anchor');
/** Both engines of the 'rosa-tuning' walk; rows name theirs (other modes are JS either way). */
const engines: ScanEngine[] = ['wasm', 'js'];
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
  /** 'scan' and 'pool' rows: which code ran the 'rosa-tuning' walk. */
  engine?: ScanEngine;
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
  // Bytes of one lane's automaton (transition rows + per-state fields), from the JS automaton.
  const bytesPerAutomaton = scanLanes(input, out, 0, 1, new ScanArena(T, 1 << bits, 'auto', 'js')).sam
    .usedBytes;
  // Other modes have one engine (JS): their rows say 'js'.
  const rowEngines: ScanEngine[] = mode === 'rosa-tuning' ? engines : ['js'];
  const timed = rowEngines.map((engine) => {
    // Warm up (and let the wasm kernel tier up) before timing.
    const arena = scanLanes(input, out, 0, lanes, new ScanArena(T, 1 << bits, 'auto', engine));
    return {
      engine,
      arena,
      indexedBefore: arena.indexedLanes,
      best: Number.POSITIVE_INFINITY,
      cpuBest: Number.POSITIVE_INFINITY,
      fullBest: Number.POSITIVE_INFINITY,
      checksum: 0,
    };
  });
  const file = withNative && nativeBinary ? nativeInputFile(input, lanes) : null;
  let nativeBest = Number.POSITIVE_INFINITY;
  let nativeCpuBest = Number.POSITIVE_INFINITY;
  let nativeSum = 0;
  for (let i = 0; i < reps; i++) {
    for (const e of timed) {
      // The scan alone (what the native anchor does), then with the inverse index lists.
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      scanLanes(input, out, 0, lanes, e.arena, { inverseIndices: false });
      e.best = Math.min(e.best, performance.now() - t0);
      const cpu = process.cpuUsage(c0);
      e.cpuBest = Math.min(e.cpuBest, (cpu.user + cpu.system) / 1000);
      const t1 = performance.now();
      scanLanes(input, out, 0, lanes, e.arena);
      e.fullBest = Math.min(e.fullBest, performance.now() - t1);
      if (mode === 'rosa-tuning') e.checksum = checksum(out, shape);
    }
    if (file) {
      const native = runNative(file, lanes, T, bits, 2);
      nativeBest = Math.min(nativeBest, native.seconds * 1000);
      nativeCpuBest = Math.min(nativeCpuBest, native.cpuSeconds * 1000);
      nativeSum = native.checksum;
    }
  }
  for (const e of timed) {
    rows.push({
      what: 'scan',
      engine: e.engine,
      mode,
      input: kind,
      T,
      bits,
      lanes,
      symbolsPerSecond: round((lanes * T) / (e.best / 1000)),
      msPerRep: round(e.best, 2),
      withInverseListsPerSecond: round((lanes * T) / (e.fullBest / 1000)),
      perCpuSecond: round((lanes * T) / (e.cpuBest / 1000)),
      indexedLanes: (e.arena.indexedLanes - e.indexedBefore) / (2 * reps),
      bytesPerAutomaton,
      checksum: mode === 'rosa-tuning' ? e.checksum : undefined,
    });
  }
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
 * The same batch through a 1-worker and an N-worker pool, each with both engines, repetitions
 * interleaved. Besides the rates, reports how much the workers' own scan time (summed) grows with
 * N workers: ≈1 when the machine gives each worker a core, ≈N when the workers only share one.
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
  const runs = engines.flatMap((engine) =>
    pools.map((pool) => ({
      pool,
      engine,
      best: Number.POSITIVE_INFINITY,
      workerMs: Number.POSITIVE_INFINITY,
      indexed: 0,
    })),
  );
  for (const r of runs) await r.pool.scan(input, out, { engine: r.engine });
  for (let i = 0; i < reps; i++) {
    for (const r of runs) {
      const t0 = performance.now();
      const report = await r.pool.scan(input, out, { engine: r.engine });
      r.best = Math.min(r.best, performance.now() - t0);
      r.workerMs = Math.min(r.workerMs, report.workerMs);
      r.indexed = report.indexedLanes;
    }
  }
  for (const r of runs) {
    const one = runs.find((o) => o.engine === r.engine && o.pool.size === 1) ?? r;
    rows.push({
      what: 'pool',
      engine: r.engine,
      mode: 'rosa-tuning',
      input: kind,
      T,
      bits,
      lanes,
      workers: r.pool.size,
      symbolsPerSecond: round((lanes * T) / (r.best / 1000)),
      msPerRep: round(r.best, 2),
      workerScanMs: round(r.workerMs, 1),
      workerTimeGrowth: round(r.workerMs / one.workerMs, 2),
      indexedLanes: r.indexed,
    });
  }
}

// --- Run ---------------------------------------------------------------------------------------

const started = performance.now();
for (const T of poolOnly ? [] : Ts) {
  for (const bits of anchorOnly ? [4] : bitsList) {
    for (const kind of anchorOnly ? (['random'] as InputKind[]) : kinds) {
      // Native periodic input is quadratic (the reference e-update): only up to 4k here.
      const withNative = bits === 4 && !(kind === 'periodic' && T > 4096);
      const headline = bits === 4 && kind === 'random' && T === Ts[Ts.length - 1];
      scanRow('rosa-tuning', kind, T, bits, headline ? 12 : bits === 4 ? 5 : 3, withNative);
    }
  }
}
const bigT = Ts[Ts.length - 1];
for (const mode of poolOnly || anchorOnly ? [] : (['exact', 'rwkv8'] as RosaMode[])) {
  for (const kind of kinds) scanRow(mode, kind, 16384, 4, 3, false);
}

// The anchor on periodic input at the largest T, one lane (it walks whole suffix-link chains).
let nativePeriodic: Row | null = null;
if (nativeBinary && !poolOnly && !anchorOnly) {
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

if (!anchorOnly) {
  const pools = [...new Set([1, availableParallelism()])].map((size) => createNodeRosaPool({ size }));
  await Promise.all(pools.map((pool) => pool.ready()));
  // Training-shaped calls (batch 8 × 16 routes of 4 bits at T = 256), then long lanes.
  await poolRows(pools, 'random', 256, 4, 30, 128);
  await poolRows(pools, 'run-heavy', 256, 4, 30, 128);
  for (const T of Ts.filter((t) => t >= 16384)) {
    for (const kind of kinds) await poolRows(pools, kind, T, 4, kind === 'random' ? 8 : 3);
  }
  await Promise.all(pools.map((pool) => pool.terminate()));
}

// --- Summary against the targets of the task -----------------------------------------------------

const find = (what: Row['what'], input: InputKind, T: number, extra: Partial<Row> = {}) =>
  rows.find(
    (r) =>
      r.what === what &&
      r.input === input &&
      r.T === T &&
      r.bits === (extra.bits ?? 4) &&
      r.mode === (extra.mode ?? 'rosa-tuning') &&
      (what === 'native' || r.engine === (extra.engine ?? 'wasm')) &&
      (extra.workers === undefined || r.workers === extra.workers),
  );
const native64 = find('native', 'random', bigT);
const N = availableParallelism();
const ratio = (a: number | undefined, b: number | undefined, digits = 3) =>
  a !== undefined && b !== undefined ? round(a / b, digits) : null;
const checksumsAgree = rows
  .filter((r) => r.what === 'native' && r !== nativePeriodic)
  .every((n) =>
    engines.every((engine) => find('scan', n.input, n.T, { bits: n.bits, engine })?.checksum === n.checksum),
  );
const periodicSums = (() => {
  if (!nativePeriodic) return null;
  const shape = { lanes: 1, T: bigT, bits: 4 };
  const input = makeInput(shape, 'periodic', 'rosa-tuning', false, 7);
  return engines.map((engine) => {
    const out = allocateScanOutputs(shape);
    scanLanes(input, out, 0, 1, undefined, { engine });
    return checksum(out, shape);
  });
})();

const summary: Record<string, number | boolean | null> = {};
for (const engine of engines) {
  const scan64 = find('scan', 'random', bigT, { engine });
  const periodic64 = find('scan', 'periodic', bigT, { engine });
  summary[`${engine}: random 4-bit T=${bigT}, one thread / native anchor (target ≥ 0.8)`] = ratio(
    scan64?.symbolsPerSecond,
    native64?.symbolsPerSecond,
  );
  summary[`${engine}: same, by CPU time`] = ratio(scan64?.perCpuSecond, native64?.perCpuSecond);
  summary[`${engine}: random / periodic 4-bit T=${bigT}, one thread (target ≤ 3)`] = ratio(
    scan64?.symbolsPerSecond,
    periodic64?.symbolsPerSecond,
  );
  summary[`${engine}: periodic 4-bit T=${bigT}: one thread / native anchor`] = ratio(
    periodic64?.symbolsPerSecond,
    nativePeriodic?.symbolsPerSecond,
    1,
  );
  if (N > 1) {
    const pool1 = find('pool', 'random', bigT, { workers: 1, engine });
    const poolN = find('pool', 'random', bigT, { workers: N, engine });
    const train1 = find('pool', 'random', 256, { workers: 1, engine });
    const trainN = find('pool', 'random', 256, { workers: N, engine });
    summary[`${engine}: pool ${N} workers / 1 worker, random 4-bit T=${bigT} (target ≥ 1.7)`] = ratio(
      poolN?.symbolsPerSecond,
      pool1?.symbolsPerSecond,
    );
    summary[`${engine}: same: workers' summed scan time, ${N} workers / 1 (≈1 if each got a core)`] =
      poolN?.workerTimeGrowth ?? null;
    summary[
      `${engine}: pool ${N} workers / 1 worker, training-shaped 128 lanes × 256, 4-bit (target ≥ 1.8)`
    ] = ratio(trainN?.symbolsPerSecond, train1?.symbolsPerSecond);
    summary[`${engine}: same: workers' summed scan time, ${N} workers / 1`] =
      trainN?.workerTimeGrowth ?? null;
  }
}
for (const T of Ts) {
  summary[`wasm / js, random 4-bit T=${T}, one thread`] = ratio(
    find('scan', 'random', T, { engine: 'wasm' })?.symbolsPerSecond,
    find('scan', 'random', T, { engine: 'js' })?.symbolsPerSecond,
  );
}
summary['native, wasm and JS outputs identical (checksums)'] =
  nativeBinary && !poolOnly
    ? checksumsAgree && (periodicSums === null || periodicSums.every((x) => x === nativePeriodic?.checksum))
    : null;

// Partial runs (--anchor, --pool-only) lack some figures: leave those out rather than print nulls.
if (anchorOnly || poolOnly)
  for (const key of Object.keys(summary)) if (summary[key] === null) delete summary[key];

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
