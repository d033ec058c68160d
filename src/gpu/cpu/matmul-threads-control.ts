// The control block of the threaded matmul (matmul-threads.ts) and the worker's code, which runs
// on the other side of it: plain JavaScript in a string, so that a worker starts from it without a
// bundler or a TypeScript loader (Node's eval worker, a Blob URL in browsers).

// The control block, Int32s.
export const SEQ = 0; // call number: bumped to publish a call, workers wait on it
export const NEXT = 1; // (call number & 0x7fff) << 16 | next unclaimed chunk
export const COMPLETED = 2; // chunks finished in this call; the caller waits on it
export const STATUS = 3; // 1 once a chunk has thrown
export const STOP = 4; // 1: workers leave their loops
export const FAILED = 5; // workers that could not start
export const CHUNKS = 6;
export const BY_ROWS = 7; // 1: chunks of rows (by 4), 0: of 8-column panels
export const UNITS = 8; // row blocks or panels in all
export const ARGS = 9; // a matmul's DirectCall (matmul.ts), DIRECT_CALL_FIELDS in order
/** The fields of a DirectCall in the control block from ARGS (accumulate as 1 or 0). */
export const DIRECT_CALL_FIELDS = [
  'a',
  'ars',
  'aks',
  'b',
  'ldb',
  'c',
  'ldc',
  'M',
  'N8',
  'K',
  'kc',
  'accumulate',
] as const;
export const BY_WORKERS = ARGS + DIRECT_CALL_FIELDS.length; // chunks the workers have run, all calls together
export const KIND = BY_WORKERS + 1; // the job: a matmul (0) or attention's (ATTENTION_FORWARD …)
export const ATTENTION_FORWARD = 1;
export const ATTENTION_BACKWARD = 2;
export const ATTENTION_ARGS = KIND + 1; // see ATTENTION_SOURCE (attention-threads-source.ts)
export const ATTENTION_ARG_COUNT = 20;
/** The attention's scale, a float64 at this (even) Int32 index. */
export const ATTENTION_SCALE = (ATTENTION_ARGS + ATTENTION_ARG_COUNT + 1) & ~1;
export const CONTROL_INTS = ATTENTION_SCALE + 2;
export const TAG = 0x7fff;

// The worker: matmul chunks (directChunk and runDirectBlocks, the calling thread's functions,
// come as source text from matmul-threads.ts) or attention's (batch, head) units
// (attentionKernels and attentionUnit: ATTENTION_SOURCE, attention-threads-source.ts).
export const WORKER_SOURCE = `
function start(init) {
  const ctrl = new Int32Array(init.control);
  let direct, attention;
  try {
    const env = { env: { memory: init.memory } };
    direct = new WebAssembly.Instance(init.module, env).exports.direct;
    const blocks = new WebAssembly.Instance(init.attention, env).exports;
    attention = attentionKernels(direct, blocks, init.memory);
  } catch (e) {
    Atomics.add(ctrl, ${FAILED}, 1);
    throw e;
  }
  post('ready');
  let seen = 0;
  for (;;) {
    Atomics.wait(ctrl, ${SEQ}, seen);
    seen = Atomics.load(ctrl, ${SEQ});
    if (Atomics.load(ctrl, ${STOP}) === 1) return;
    claimChunks(ctrl, direct, attention, init.slot, seen & ${TAG}, init.stall);
  }
}

function claimChunks(ctrl, direct, attention, slot, tag, stall) {
  for (;;) {
    const v = Atomics.load(ctrl, ${NEXT});
    const chunks = ctrl[${CHUNKS}];
    const i = v & 0xffff;
    if (v >>> 16 !== tag || i >= chunks) return;
    if (Atomics.compareExchange(ctrl, ${NEXT}, v, v + 1) !== v) continue;
    // Chunk i is ours: the call stays as published until every chunk has completed.
    if (stall) Atomics.wait(ctrl, ${STOP}, 0); // tests: a worker that hangs holding a chunk
    try {
      if (ctrl[${KIND}] !== 0) attentionUnit(attention, ctrl, i, slot);
      else matmulChunk(ctrl, direct, i, chunks);
    } catch (e) {
      Atomics.store(ctrl, ${STATUS}, 1);
    }
    Atomics.add(ctrl, ${BY_WORKERS}, 1);
    if (Atomics.add(ctrl, ${COMPLETED}, 1) + 1 === chunks) Atomics.notify(ctrl, ${COMPLETED});
  }
}

function matmulChunk(ctrl, direct, i, chunks) {
  const call = {};
  for (let f = 0; f < directCallFields.length; f++) call[directCallFields[f]] = ctrl[${ARGS} + f];
  call.accumulate = call.accumulate === 1;
  runDirectBlocks(direct, directChunk(call, i, chunks, ctrl[${BY_ROWS}] === 1, ctrl[${UNITS}]));
}
`;
