// Cross-origin isolation decides whether SharedArrayBuffer exists, which the ROSA
// workers use to share symbol streams without copies.

export interface IsolationStatus {
  isolated: boolean;
  sharedArrayBuffer: boolean;
  explanation: string;
}

export function isolationStatus(): IsolationStatus {
  const isolated = globalThis.crossOriginIsolated === true;
  const sharedArrayBuffer = typeof SharedArrayBuffer === 'function';
  const explanation = isolated
    ? 'The page is cross-origin isolated: SharedArrayBuffer is available and the ROSA workers share memory with the page.'
    : 'The page is not cross-origin isolated, so the browser withholds SharedArrayBuffer. The server must send ' +
      '"Cross-Origin-Opener-Policy: same-origin" and "Cross-Origin-Embedder-Policy: require-corp" (npm run dev and ' +
      'npm run preview do; on other hosts the built page adds them through its own service worker, which needs a ' +
      'browser that allows service workers here). Without it the ROSA workers still run, but copy buffers back and forth.';
  return { isolated, sharedArrayBuffer, explanation };
}
