// Working memory of one scanning thread, sized once for (T, alphabet) and reused lane after lane:
// the hot loops never allocate. A worker keeps one arena; it grows only when a longer T arrives.

import { AncestryIndex } from './ancestry.ts';
import { SuffixAutomaton, stateCapacity } from './automaton.ts';
import { TuningWasm } from './tuning-wasm.ts';

/**
 * How the scans keep e(v) and find fallback ancestors:
 *  'walk'    the reference suffix-link walks (spec §1.1), fastest on ordinary input, quadratic on
 *            periodic input;
 *  'indexed' the AncestryIndex (O(log n) per query) from the first symbol;
 *  'auto'    walk, and redo the lane with the index once the walks exceed a linear budget.
 * All three give identical outputs.
 */
export type ScanStrategy = 'auto' | 'walk' | 'indexed';

/**
 * Which code runs the 'rosa-tuning' walk (alphabets ≤ 32; other modes and indexed lanes are JS):
 *  'auto' the WebAssembly kernel (tuning-wasm.ts) where this thread can compile it, else JS;
 *  'js'   the JS kernel (tuning-fast.ts), the reference;
 *  'wasm' the WebAssembly kernel, throwing where it is unavailable (tests and benchmarks).
 * Outputs are identical.
 */
export type ScanEngine = 'auto' | 'js' | 'wasm';

/** Walk budget for 'auto': a lane switches once its walk steps exceed base + perSymbol · t. */
export const WALK_BUDGET = { base: 4096, perSymbol: 48 };

export class ScanArena {
  readonly maxT: number;
  readonly alphabet: number;
  readonly sam: SuffixAutomaton;
  strategy: ScanStrategy;
  engine: ScanEngine;
  /** Fallback steps walked before asking the index, on indexed lanes (AncestryIndex.walkFirst). */
  fallbackWalk = 8;
  /** Run symbols of Q and K ('exact' compares their tails). */
  readonly qRunSym: Int32Array;
  readonly kRunSym: Int32Array;
  /** Longest-common-suffix cache per diagonal u − L ('exact'), see scan-kernels.ts. */
  readonly diagAt: Int32Array;
  readonly diagLength: Int32Array;
  /** Fallback state per symbol for q_t and its bit flips (resolveWithFlips). */
  readonly fallbackAt: Int32Array;
  /** Lanes that went through the index since the arena was made (for benchmarks and tests). */
  indexedLanes = 0;
  private indexStore: AncestryIndex | null = null;
  /** undefined: not tried yet; null: unavailable on this thread. */
  private wasmStore: TuningWasm | null | undefined;

  constructor(maxT: number, alphabet: number, strategy: ScanStrategy = 'auto', engine: ScanEngine = 'auto') {
    this.maxT = maxT;
    this.alphabet = alphabet;
    this.strategy = strategy;
    this.engine = engine;
    this.sam = new SuffixAutomaton(maxT, alphabet);
    this.fallbackAt = new Int32Array(Math.max(32, 1 << this.sam.shift));
    this.qRunSym = new Int32Array(Math.max(1, maxT));
    this.kRunSym = new Int32Array(Math.max(1, maxT));
    this.diagAt = new Int32Array(2 * maxT + 1);
    this.diagLength = new Int32Array(2 * maxT + 1);
  }

  /** The index is only needed for pathological lanes; allocate it on first use. */
  get index(): AncestryIndex {
    this.indexStore ??= new AncestryIndex(stateCapacity(this.maxT), this.alphabet, this.maxT);
    return this.indexStore;
  }

  /** The wasm walk kernel for the 'rosa-tuning' mode per `engine`, or null to run the JS one. */
  tuningWasm(): TuningWasm | null {
    if (this.engine === 'js' || !this.sam.hasMasks) return null;
    if (this.wasmStore === undefined) this.wasmStore = TuningWasm.create(this.maxT, this.sam.shift);
    if (this.wasmStore === null && this.engine === 'wasm') {
      throw new Error("ScanArena engine 'wasm': WebAssembly is not available on this thread");
    }
    return this.wasmStore;
  }

  get bytes(): number {
    return (
      (this.wasmStore ? this.wasmStore.bytes : 0) +
      this.sam.bytes +
      this.qRunSym.byteLength * 2 +
      this.diagAt.byteLength * 2 +
      (this.indexStore ? this.indexStore.bytes : 0)
    );
  }

  fits(T: number, alphabet: number): boolean {
    return T <= this.maxT && alphabet === this.alphabet;
  }
}

/** Reuses `arena` when it fits, otherwise makes one for (T, alphabet) with the same strategy. */
export function arenaFor(arena: ScanArena | undefined, T: number, alphabet: number): ScanArena {
  if (arena?.fits(T, alphabet)) return arena;
  const made = new ScanArena(T, alphabet, arena?.strategy ?? 'auto', arena?.engine ?? 'auto');
  if (arena) made.fallbackWalk = arena.fallbackWalk;
  return made;
}
