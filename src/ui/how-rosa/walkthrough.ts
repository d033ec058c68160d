// What the "How ROSA works" view shows, computed with the real code: the text's characters
// become one route's symbols (a bit slice of each character code), the ROSA layer forward of
// src/gpu/reference/rosa.ts (sign-pack, the CPU scan of src/rosa-worker/, the injection) gives
// each position's retrieval and injected value, rosaQkv gives the match lengths, and flipping
// each bit of one query symbol and scanning again gives the counterfactuals.

import { rosaLayerForward } from '../../gpu/reference/rosa.ts';
import { ROSA_MAX_BITS } from '../../rosa-worker/layout.ts';
import { rosaQkv } from '../../rosa-worker/scan.ts';

/** Longest text the view scans (it draws one cell per character). */
export const MAX_CHARACTERS = 400;

export interface BitSlice {
  /** Bits per route M, 1..ROSA_MAX_BITS: the alphabet has 2^M symbols. */
  bits: number;
  /** Lowest bit of the character code taken (0 = least significant). */
  shift: number;
}

export interface Retrieval {
  /** Position whose value is read (j + w in the spec), or -1 when nothing matched. */
  from: number;
  /** Length w of the matched suffix; it occupies positions from − w … from − 1. */
  length: number;
}

export interface Position {
  t: number;
  char: string;
  symbol: number;
  retrieval: Retrieval;
  /** The injected vector, one entry per bit (−1 / +1 for a retrieved bit of 0 / 1); zeros when unmatched. */
  injected: number[];
  /** The character at the retrieved position (what the injection carries), or null. */
  injectedChar: string | null;
}

export interface Counterfactual {
  bit: number;
  /** The query symbol with this bit flipped. */
  symbol: number;
  /** Where the rerun scan retrieves from with that symbol at this position. */
  retrieval: Retrieval;
  /** The scan's own counterfactual index for this flip (rcf, what the backward uses). */
  savedFrom: number;
}

/** One route's symbol of a character: `bits` bits of its code starting at bit `shift`. */
export function symbolOf(char: string, { bits, shift }: BitSlice): number {
  return ((char.codePointAt(0) ?? 0) >>> shift) & ((1 << bits) - 1);
}

export function checkSlice({ bits, shift }: BitSlice): void {
  if (!Number.isInteger(bits) || bits < 1 || bits > ROSA_MAX_BITS)
    throw new RangeError(`bits must be 1..${ROSA_MAX_BITS}`);
  if (!Number.isInteger(shift) || shift < 0 || shift > 20) throw new RangeError('shift must be 0..20');
}

/** The text as the view's tokens: one per character (code point), at most MAX_CHARACTERS. */
export function tokensOf(text: string): string[] {
  return Array.from(text).slice(0, MAX_CHARACTERS);
}

/** T×bits activations whose signs are the symbols' bits (+1 for 1, −1 for 0). */
function signsOf(symbols: ArrayLike<number>, bits: number): Float32Array {
  const x = new Float32Array(symbols.length * bits);
  for (let t = 0; t < symbols.length; t++)
    for (let j = 0; j < bits; j++) x[t * bits + j] = (symbols[t] >> j) & 1 ? 1 : -1;
  return x;
}

function positionsOf(T: number): Int32Array {
  return Int32Array.from({ length: T }, (_, t) => t);
}

/**
 * Every position of the text, scanned with BlinkDL's per-token rule (q = k = v = the text's
 * symbols): the longest suffix ending at t that occurred before, its latest occurrence, and the
 * value right after it.
 */
export function walkthrough(chars: string[], slice: BitSlice): { positions: Position[]; rcf: Int32Array } {
  checkSlice(slice);
  const { bits } = slice;
  const T = chars.length;
  const symbols = Int32Array.from(chars, (c) => symbolOf(c, slice));
  const signs = signsOf(symbols, bits);
  const layer = rosaLayerForward({
    q: signs,
    k: signs,
    v: signs,
    e0: new Float32Array(bits).fill(-1),
    e1: new Float32Array(bits).fill(1),
    T,
    C: bits,
    bits,
    mode: 'rwkv8',
  });
  const { matchLen } = rosaQkv(symbols, symbols, positionsOf(T));
  const positions = chars.map((char, t): Position => {
    const from = layer.dest[t];
    return {
      t,
      char,
      symbol: symbols[t],
      retrieval: { from, length: from < 0 ? 0 : matchLen[t] },
      injected: Array.from(layer.y.subarray(t * bits, (t + 1) * bits)),
      injectedChar: from < 0 ? null : chars[from],
    };
  });
  return { positions, rcf: layer.scan.rcf.slice(0, T * bits * 2) };
}

/**
 * For position t: each bit of its query symbol flipped in turn, the scan run again on the whole
 * text with that query (keys unchanged), and where t would then have retrieved from. The saved
 * index rcf[t][bit][flipped value] of the original scan is returned beside it.
 */
export function counterfactuals(
  chars: string[],
  slice: BitSlice,
  t: number,
  rcf: Int32Array,
): Counterfactual[] {
  checkSlice(slice);
  const { bits } = slice;
  const keys = Int32Array.from(chars, (c) => symbolOf(c, slice));
  const out: Counterfactual[] = [];
  for (let bit = 0; bit < bits; bit++) {
    const query = keys.slice();
    query[t] ^= 1 << bit;
    const { y, matchLen } = rosaQkv(query, keys, positionsOf(chars.length));
    const forcedTo = (query[t] >> bit) & 1;
    out.push({
      bit,
      symbol: query[t],
      retrieval: { from: y[t], length: y[t] < 0 ? 0 : matchLen[t] },
      savedFrom: rcf[(t * bits + bit) * 2 + forcedTo],
    });
  }
  return out;
}

/** The symbol's bits, most significant first (as a binary number reads). */
export function bitString(symbol: number, bits: number): string {
  return symbol.toString(2).padStart(bits, '0');
}
