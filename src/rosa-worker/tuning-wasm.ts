// tuningLaneWalk (tuning-fast.ts) in WebAssembly, written with the binary writer of
// src/wasm/writer.ts and compiled at load time. Same algorithm, same outputs bit for bit (the
// property tests compare both); it exists because the JS loop pays a bounds check and a
// typed-array load per automaton access, about 2.4× the instructions of the native anchor.
//
// The lane's symbols are copied into the wasm memory, the automaton (node, trans, lastSym laid
// out as in automaton.ts) and the outputs live there, and the outputs are copied back to the
// layout arrays after the lane: a few memcpys per lane against a walk per symbol.
//
// Memory (bytes): 0 fallbackAt[32] · 128 numKRuns · 132 work · 256 node[states][4] ·
// trans[states << bits] · lastSym[states] · dest[T] · qRunId[T] · kRunStart[T] · rcf[T·bits·2] ·
// q[T] · k[T] (bytes). Grown when a longer lane arrives.

import { type Bytes, I32, op, type WasmFunction, wasmModule } from '../wasm/writer.ts';
import { LATEST, LEN, LINK, MASK, stateCapacity } from './automaton.ts';
import type { LaneInput, LaneOutputs, LaneResult } from './lane.ts';

const AT = 0;
const NUM_K_RUNS = 128;
const WORK = 132;
const NODE = 256;
const PAGE = 65536;
const NO_BUDGET = 0x7fffffff;

/** Byte offsets of one lane's arrays for (T, bits). */
interface Layout {
  trans: number;
  lastSym: number;
  dest: number;
  qRunId: number;
  kRunStart: number;
  rcf: number;
  q: number;
  k: number;
  bytes: number;
}

function layoutFor(T: number, bits: number): Layout {
  const states = stateCapacity(T);
  let at = NODE + states * 16;
  const take = (n: number) => {
    const start = at;
    at += n;
    return start;
  };
  const trans = take((states << bits) * 4);
  const lastSym = take(states * 4);
  const dest = take(T * 4);
  const qRunId = take(T * 4);
  const kRunStart = take(T * 4);
  const rcf = take(T * bits * 8);
  const q = take(T);
  const k = take(T);
  return { trans, lastSym, dest, qRunId, kRunStart, rcf, q, k, bytes: at };
}

// Parameters, then locals, by index.
const names = [
  // parameters
  'T',
  'bits',
  'transB',
  'lastSymB',
  'qB',
  'kB',
  'destB',
  'qRunB',
  'rcfB',
  'kRunB',
  'limit',
  'perSymbol',
  // locals
  't',
  'c',
  'a',
  'prevK',
  'prevQ',
  'lastRun',
  'u',
  's',
  'advanced',
  'work',
  'rootMask',
  'ns',
  'run',
  'next',
  'wanted',
  'pending',
  'hit',
  'x',
  'v',
  'j',
  'row',
  'width',
  'flipped',
  'actualBit',
  'size',
  'last',
  'cur',
  'p',
  'q',
  'clone',
  'm',
  'bit',
  'link',
] as const;
type Name = (typeof names)[number];
const PARAMS = 12;
const index = new Map<Name, number>(names.map((n, i) => [n, i]));
const at = (n: Name) => index.get(n) as number;
const get = (n: Name): Bytes => op.get(at(n));
const set = (n: Name): Bytes => op.set(at(n));
const tee = (n: Name): Bytes => op.tee(at(n));
const k = (v: number): Bytes => op.i32(v);
const seq = (...parts: Bytes[]): Bytes => parts.flat();

/** Address of v's field f is (v << 4) + NODE + 4f: the constant part goes in the memarg. */
const nodeLoad = (v: Bytes, field: number) => seq(v, k(4), op.shl, op.load(NODE + 4 * field));
const nodeStore = (v: Bytes, field: number, value: Bytes) =>
  seq(v, k(4), op.shl, value, op.store(NODE + 4 * field));
const transAddr = (v: Bytes, sym: Bytes) =>
  seq(v, get('bits'), op.shl, sym, op.or, k(2), op.shl, get('transB'), op.add);
/** Byte address of element i of the i32 array at local `base`. */
const elem = (base: Name, i: Bytes) => seq(i, k(2), op.shl, get(base), op.add);
const inc = (n: Name, by = 1) => seq(get(n), k(by), op.add, set(n));
const ifThen = (cond: Bytes, then: Bytes, otherwise?: Bytes) =>
  seq(cond, op.if, then, otherwise ? seq(op.else, otherwise) : [], op.end);
/**
 * while (!exit) body: the exits are tested at the top, in order, the later ones only when the
 * earlier did not hold (so they may read memory the earlier ones guard); body must not branch out.
 */
const until = (exits: Bytes[], body: Bytes) =>
  seq(op.block, op.loop, ...exits.map((e) => seq(e, op.brIf(1))), body, op.br(0), op.end, op.end);
/** (mask >> sym) & 1 */
const hasBit = (mask: Bytes, sym: Bytes) => seq(mask, sym, op.shrU, k(1), op.and);
/** next if next ≤ lastRun, else -1 (the K-run after the latest end, when it exists yet). */
const runAfter = (next: Bytes) => seq(next, k(-1), next, get('lastRun'), op.leS, op.select);

/** SuffixAutomaton.extend(c) with masks (automaton.ts), inline. */
function extend(): Bytes {
  const transPC = transAddr(get('p'), get('c'));
  const split = seq(
    get('size'),
    tee('clone'),
    k(1),
    op.add,
    set('size'),
    nodeStore(get('clone'), LINK, nodeLoad(get('q'), LINK)),
    nodeStore(get('clone'), LEN, seq(nodeLoad(get('p'), LEN), k(1), op.add)),
    nodeStore(get('clone'), LATEST, nodeLoad(get('q'), LATEST)),
    nodeStore(get('clone'), MASK, seq(nodeLoad(get('q'), MASK), tee('m'))),
    // Only cells under the mask are ever read: copy those.
    until(
      [seq(get('m'), op.eqz)],
      seq(
        get('m'),
        op.ctz,
        set('x'),
        transAddr(get('clone'), get('x')),
        transAddr(get('q'), get('x')),
        op.load(0),
        op.store(0),
        get('m'),
        get('m'),
        k(1),
        op.sub,
        op.and,
        set('m'),
      ),
    ),
    elem('lastSymB', get('clone')),
    get('c'),
    op.store(0),
    until(
      [seq(get('p'), k(0), op.ltS), seq(transPC, op.load(0), get('q'), op.ne)],
      seq(transPC, get('clone'), op.store(0), nodeLoad(get('p'), LINK), set('p')),
    ),
    nodeStore(get('q'), LINK, get('clone')),
    get('clone'),
    set('link'),
  );
  return seq(
    get('size'),
    tee('cur'),
    k(1),
    op.add,
    set('size'),
    nodeStore(get('cur'), LEN, seq(nodeLoad(get('last'), LEN), k(1), op.add)),
    nodeStore(get('cur'), LATEST, k(-1)),
    nodeStore(get('cur'), MASK, k(0)),
    elem('lastSymB', get('cur')),
    get('c'),
    op.store(0),
    k(1),
    get('c'),
    op.shl,
    set('bit'),
    get('last'),
    set('p'),
    until(
      [seq(get('p'), k(0), op.ltS), seq(nodeLoad(get('p'), MASK), tee('m'), get('bit'), op.and)],
      seq(
        transPC,
        get('cur'),
        op.store(0),
        nodeStore(get('p'), MASK, seq(get('m'), get('bit'), op.or)),
        nodeLoad(get('p'), LINK),
        set('p'),
      ),
    ),
    ifThen(
      seq(get('p'), k(0), op.ltS),
      seq(k(0), set('link')),
      seq(
        transPC,
        op.load(0),
        set('q'),
        ifThen(
          seq(nodeLoad(get('p'), LEN), k(1), op.add, nodeLoad(get('q'), LEN), op.eq),
          seq(get('q'), set('link')),
          split,
        ),
      ),
    ),
    nodeStore(get('cur'), LINK, get('link')),
    get('cur'),
    set('last'),
  );
}

/** commitEnd(lastRun): every state on the new prefix state's chain now ends at lastRun. */
function commitEnd(): Bytes {
  return seq(
    get('last'),
    set('v'),
    until(
      [seq(get('v'), k(0), op.leS)],
      seq(nodeStore(get('v'), LATEST, get('lastRun')), inc('work'), nodeLoad(get('v'), LINK), set('v')),
    ),
  );
}

/** Q-run start: fallback states for a and its bit flips (one walk from s), then dest and rcf. */
function runStart(): Bytes {
  const atStore = (sym: Bytes, value: Bytes) => seq(sym, k(2), op.shl, value, op.store(AT));
  const atLoad = (sym: Bytes) => seq(sym, k(2), op.shl, op.load(AT));
  const walk = seq(
    op.block,
    op.loop,
    get('pending'),
    op.eqz,
    op.brIf(1),
    nodeLoad(get('v'), MASK),
    get('pending'),
    op.and,
    tee('hit'),
    op.if,
    get('pending'),
    get('hit'),
    op.xor,
    set('pending'),
    op.loop,
    atStore(seq(get('hit'), op.ctz), get('v')),
    get('hit'),
    get('hit'),
    k(1),
    op.sub,
    op.and,
    tee('hit'),
    op.brIf(0),
    op.end,
    get('pending'),
    op.eqz,
    op.brIf(2),
    op.end,
    nodeLoad(get('v'), LINK),
    set('v'),
    inc('work'),
    op.br(0),
    op.end,
    op.end,
  );
  const forBits = (body: Bytes) =>
    seq(k(0), set('j'), op.loop, body, inc('j'), get('j'), get('bits'), op.ltS, op.brIf(0), op.end);
  const flipOf = seq(get('a'), k(1), get('j'), op.shl, op.xor);
  return seq(
    get('a'),
    set('prevQ'),
    inc('u'),
    k(0),
    set('advanced'),
    k(1),
    get('a'),
    op.shl,
    set('wanted'),
    forBits(seq(get('wanted'), k(1), flipOf, op.shl, op.or, set('wanted'))),
    get('wanted'),
    get('rootMask'),
    op.and,
    set('pending'),
    ifThen(
      get('s'),
      seq(
        elem('lastSymB', get('s')),
        op.load(0),
        set('x'),
        // No "xx" among runs: from a state ending in x only the root goes on with x.
        ifThen(
          hasBit(get('pending'), get('x')),
          seq(atStore(get('x'), k(0)), get('pending'), k(1), get('x'), op.shl, op.xor, set('pending')),
        ),
      ),
    ),
    get('s'),
    set('v'),
    walk,
    ifThen(
      hasBit(get('rootMask'), get('a')),
      seq(
        transAddr(atLoad(get('a')), get('a')),
        op.load(0),
        tee('ns'),
        k(4),
        op.shl,
        op.load(NODE + 4 * LATEST),
        k(1),
        op.add,
        set('next'),
        runAfter(get('next')),
        set('run'),
      ),
    ),
    get('rcfB'),
    get('u'),
    get('width'),
    op.mul,
    k(2),
    op.shl,
    op.add,
    set('row'),
    forBits(
      seq(
        flipOf,
        set('x'),
        k(-1),
        set('flipped'),
        ifThen(
          hasBit(get('rootMask'), get('x')),
          seq(
            nodeLoad(seq(transAddr(atLoad(get('x')), get('x')), op.load(0)), LATEST),
            k(1),
            op.add,
            set('next'),
            runAfter(get('next')),
            set('flipped'),
          ),
        ),
        get('a'),
        get('j'),
        op.shrU,
        k(1),
        op.and,
        set('actualBit'),
        // rcf[row][j][actual] = run, rcf[row][j][flipped] = flipped
        get('row'),
        get('j'),
        k(3),
        op.shl,
        op.add,
        get('actualBit'),
        k(2),
        op.shl,
        op.add,
        get('run'),
        op.store(0),
        get('row'),
        get('j'),
        k(3),
        op.shl,
        op.add,
        get('actualBit'),
        k(1),
        op.xor,
        k(2),
        op.shl,
        op.add,
        get('flipped'),
        op.store(0),
      ),
    ),
  );
}

/** Inside a Q-run: the matcher's fallback walk for a from s. */
function runContinues(): Bytes {
  return ifThen(
    hasBit(get('rootMask'), get('a')),
    seq(
      get('s'),
      set('v'),
      ifThen(
        get('s'),
        ifThen(seq(elem('lastSymB', get('s')), op.load(0), get('a'), op.eq), seq(k(0), set('v'))),
      ),
      until(
        [hasBit(nodeLoad(get('v'), MASK), get('a'))],
        seq(nodeLoad(get('v'), LINK), set('v'), inc('work')),
      ),
      nodeLoad(seq(transAddr(get('v'), get('a')), op.load(0), tee('ns')), LATEST),
      k(1),
      op.add,
      set('next'),
      runAfter(get('next')),
      set('run'),
    ),
  );
}

/**
 * lane(T, bits, transB, lastSymB, qB, kB, destB, qRunB, rcfB, kRunB, limit, perSymbol) →
 * numQRuns, or -1 once the walks exceed limit + perSymbol · t (numKRuns and work go to memory).
 */
function laneFunction(): WasmFunction {
  const body = seq(
    k(1),
    set('size'),
    nodeStore(k(0), LINK, k(-1)),
    nodeStore(k(0), LEN, k(0)),
    nodeStore(k(0), LATEST, k(-1)),
    nodeStore(k(0), MASK, k(0)),
    get('lastSymB'),
    k(-1),
    op.store(0),
    k(-1),
    set('prevK'),
    k(-1),
    set('prevQ'),
    k(-1),
    set('lastRun'),
    k(-1),
    set('u'),
    get('bits'),
    k(1),
    op.shl,
    set('width'),
    op.block,
    op.loop,
    get('t'),
    get('T'),
    op.geS,
    op.brIf(1),
    get('kB'),
    get('t'),
    op.add,
    op.load8U(0),
    tee('c'),
    get('prevK'),
    op.ne,
    op.if,
    get('c'),
    set('prevK'),
    inc('lastRun'),
    elem('kRunB', get('lastRun')),
    get('t'),
    op.store(0),
    extend(),
    commitEnd(),
    op.end,
    get('qB'),
    get('t'),
    op.add,
    op.load8U(0),
    set('a'),
    nodeLoad(k(0), MASK),
    set('rootMask'),
    k(-1),
    set('ns'),
    k(-1),
    set('run'),
    ifThen(seq(get('a'), get('prevQ'), op.ne), runStart(), runContinues()),
    elem('qRunB', get('t')),
    get('u'),
    op.store(0),
    elem('destB', get('t')),
    k(-1),
    elem('kRunB', get('run')),
    op.load(0),
    get('run'),
    k(-1),
    op.eq,
    op.select,
    op.store(0),
    ifThen(
      seq(get('ns'), k(-1), op.ne, get('advanced'), op.eqz, op.and),
      seq(get('ns'), set('s'), k(1), set('advanced')),
    ),
    ifThen(seq(get('work'), get('limit'), op.gtS), seq(k(WORK), get('work'), op.store(0), k(-1), op.return)),
    get('limit'),
    get('perSymbol'),
    op.add,
    set('limit'),
    inc('t'),
    op.br(0),
    op.end,
    op.end,
    k(NUM_K_RUNS),
    get('lastRun'),
    k(1),
    op.add,
    op.store(0),
    k(WORK),
    get('work'),
    op.store(0),
    get('u'),
    k(1),
    op.add,
  );
  return {
    name: 'lane',
    params: new Array<number>(PARAMS).fill(I32),
    results: [I32],
    locals: new Array<number>(names.length - PARAMS).fill(I32),
    body: [body],
  };
}

type LaneFn = (...args: number[]) => number;

let compiled: WebAssembly.Module | null | undefined;

/** The compiled module, or null where WebAssembly is missing or refuses it. */
function tuningModule(): WebAssembly.Module | null {
  if (compiled !== undefined) return compiled;
  compiled = null;
  if (typeof WebAssembly === 'undefined') return null;
  try {
    const bytes = wasmModule([laneFunction()], 1);
    if (WebAssembly.validate(bytes)) compiled = new WebAssembly.Module(bytes);
  } catch {
    // e.g. a browser's main thread refusing synchronous compilation: the JS scan stays.
  }
  return compiled;
}

/** Whether this thread can run the wasm scan. */
export function tuningWasmAvailable(): boolean {
  return tuningModule() !== null;
}

/** One thread's wasm instance of the 'rosa-tuning' walk kernel and its memory. */
export class TuningWasm {
  private readonly memory: WebAssembly.Memory;
  private readonly lane: LaneFn;
  // Per-lane costs matter at training shapes (T = 256): the layout and the views over the memory
  // are kept until T, bits or the buffer (replaced when the memory grows) change.
  private layout: Layout | null = null;
  private layoutKey = -1;
  private bytesView = new Uint8Array(0);
  private wordsView = new Int32Array(0);

  private constructor(module: WebAssembly.Module, bytes: number) {
    this.memory = new WebAssembly.Memory({ initial: Math.max(1, Math.ceil(bytes / PAGE)) });
    const instance = new WebAssembly.Instance(module, { env: { memory: this.memory } });
    this.lane = instance.exports.lane as LaneFn;
  }

  /** An instance with memory for lanes up to maxT of `bits` bits; null without WebAssembly. */
  static create(maxT: number, bits: number): TuningWasm | null {
    const module = tuningModule();
    if (module === null) return null;
    try {
      return new TuningWasm(module, layoutFor(maxT, bits).bytes);
    } catch {
      return null; // memory refused
    }
  }

  get bytes(): number {
    return this.memory.buffer.byteLength;
  }

  /** Walk steps of the last lane (SuffixAutomaton.work's count), up to where it stopped. */
  get work(): number {
    return new Int32Array(this.memory.buffer, WORK, 1)[0];
  }

  /** Grows the memory to hold `layout`; false when the engine refuses. */
  private fit(layout: Layout): boolean {
    const have = this.memory.buffer.byteLength;
    if (layout.bytes <= have) return true;
    try {
      this.memory.grow(Math.ceil((layout.bytes - have) / PAGE));
      return true;
    } catch {
      return false;
    }
  }

  /**
   * tuningLaneWalk (tuning-fast.ts) for alphabets ≤ 32 (bits ≤ 5): same outputs; null when the
   * walks exceeded `budget` (WALK_BUDGET, or null for none), or undefined when the memory cannot
   * grow to this lane (the caller then runs the JS walk).
   */
  laneWalk(
    input: LaneInput,
    out: LaneOutputs,
    budget: { base: number; perSymbol: number } | null,
  ): LaneResult | null | undefined {
    const { q, qOffset, k: kSym, kOffset, T, bits } = input;
    const key = T * 8 + bits;
    if (this.layout === null || this.layoutKey !== key) {
      this.layout = layoutFor(T, bits);
      this.layoutKey = key;
    }
    const layout = this.layout;
    if (!this.fit(layout)) return undefined;
    const buffer = this.memory.buffer;
    if (this.bytesView.buffer !== buffer) {
      this.bytesView = new Uint8Array(buffer);
      this.wordsView = new Int32Array(buffer);
    }
    const bytes = this.bytesView;
    bytes.set(q.subarray(qOffset, qOffset + T), layout.q);
    bytes.set(kSym.subarray(kOffset, kOffset + T), layout.k);
    let limit = budget ? budget.base : NO_BUDGET;
    let perSymbol = budget ? budget.perSymbol : 0;
    // An i32 limit: budgets that could pass 2^31 over this lane cannot be exceeded by it anyway.
    if (limit + perSymbol * T >= NO_BUDGET) {
      limit = NO_BUDGET;
      perSymbol = 0;
    }
    const numQRuns = this.lane(
      T,
      bits,
      layout.trans,
      layout.lastSym,
      layout.q,
      layout.k,
      layout.dest,
      layout.qRunId,
      layout.rcf,
      layout.kRunStart,
      limit,
      perSymbol,
    );
    if (numQRuns < 0) return null;
    const words = this.wordsView;
    const numKRuns = words[NUM_K_RUNS >> 2];
    const width = bits * 2;
    const { rowOffset, rcfOffset } = out;
    const copy = (to: Int32Array, toOffset: number, from: number, n: number) =>
      to.set(words.subarray(from >> 2, (from >> 2) + n), toOffset);
    copy(out.dest, rowOffset, layout.dest, T);
    copy(out.qRunId, rowOffset, layout.qRunId, T);
    copy(out.rcf, rcfOffset, layout.rcf, numQRuns * width);
    out.rcf.fill(-1, rcfOffset + numQRuns * width, rcfOffset + T * width);
    copy(out.kRunStart, rowOffset, layout.kRunStart, numKRuns);
    out.kRunStart.fill(-1, rowOffset + numKRuns, rowOffset + T);
    return { numQRuns, numKRuns };
  }
}
