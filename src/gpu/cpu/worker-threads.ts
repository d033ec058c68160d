// Worker threads for the CPU kernels, from a source string: worker_threads in Node (reached through
// process.getBuiltinModule, so browser bundles carry no Node import), a Web Worker on a Blob URL
// in browsers. The source defines `start(init)` and may call `post(message)`; this file adds how
// the first message reaches start and how post answers.

export interface KernelWorker {
  /** Resolves once the worker has answered 'ready' (it posts that after its set-up). */
  readonly ready: Promise<void>;
  /** The first error the worker reported (a crash, a failed start), else null. */
  failure(): Error | null;
  terminate(): void;
}

type NodeWorkerThreads = typeof import('node:worker_threads');

function nodeWorkerThreads(): NodeWorkerThreads | null {
  if (typeof process === 'undefined' || typeof process.getBuiltinModule !== 'function') return null;
  return process.getBuiltinModule('node:worker_threads') ?? null;
}

/**
 * Why worker threads cannot run the kernels here, or null when they can: shared memory needs
 * SharedArrayBuffer (in browsers only when cross-origin isolated), and the calling thread blocks
 * on Atomics.wait (not allowed on a browser's main thread).
 */
export function threadsUnavailable(): string | null {
  if (typeof SharedArrayBuffer === 'undefined' || typeof Atomics === 'undefined')
    return 'SharedArrayBuffer is missing (a page must be cross-origin isolated to have it)';
  if ((globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === false)
    return 'the page is not cross-origin isolated, so memory cannot be shared with workers';
  try {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
  } catch {
    return 'this thread may not block on Atomics.wait (a browser main thread)';
  }
  if (!nodeWorkerThreads() && typeof Worker === 'undefined') return 'this environment has no workers';
  return null;
}

export function spawnKernelWorker(source: string, init: unknown, name: string): KernelWorker {
  let failed: Error | null = null;
  let onReady: () => void = () => {};
  let onFail: (e: Error) => void = () => {};
  const ready = new Promise<void>((resolve, reject) => {
    onReady = resolve;
    onFail = reject;
  });
  // Nobody may await `ready`; the failure is kept for failure() all the same.
  ready.catch(() => {});
  const fail = (e: Error) => {
    failed ??= e;
    onFail(e);
  };
  const wt = nodeWorkerThreads();
  if (wt) {
    const prelude =
      "const { parentPort } = require('node:worker_threads');\n" +
      'const post = (m) => parentPort.postMessage(m);\n' +
      "parentPort.once('message', (m) => start(m));\n";
    const worker = new wt.Worker(prelude + source, { eval: true, name, execArgv: [] });
    worker.on('message', (m) => {
      if (m !== 'ready') return;
      // Idle, blocked in Atomics.wait, a worker must not keep the process alive; until it has
      // answered it must (something may be awaiting `ready`). After the 'message' listener,
      // which refs the port again.
      worker.unref();
      onReady();
    });
    worker.on('error', (e) => fail(e));
    worker.on('exit', (code) => fail(new Error(`${name} exited with code ${code}`)));
    worker.postMessage(init);
    return {
      ready,
      failure: () => failed,
      terminate: () => {
        failed ??= new Error(`${name} was terminated`);
        void worker.terminate();
      },
    };
  }
  const prelude =
    'const post = (m) => self.postMessage(m);\n' +
    'self.onmessage = (e) => { self.onmessage = null; start(e.data); };\n';
  const url = URL.createObjectURL(new Blob([prelude + source], { type: 'text/javascript' }));
  const worker = new Worker(url, { name });
  // Revoked once the worker has loaded it (or failed to).
  ready.then(
    () => URL.revokeObjectURL(url),
    () => URL.revokeObjectURL(url),
  );
  worker.onmessage = (e: MessageEvent) => {
    if (e.data === 'ready') onReady();
  };
  worker.onerror = (e: ErrorEvent) => fail(new Error(`${name}: ${e.message}`));
  worker.postMessage(init);
  return {
    ready,
    failure: () => failed,
    terminate: () => {
      failed ??= new Error(`${name} was terminated`);
      worker.terminate();
    },
  };
}
