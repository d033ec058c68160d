import { useCallback, useEffect, useState } from 'react';
import type { AdapterSummary, GpuContext } from '../gpu/context.ts';
import { createBrowserGpuContext } from '../gpu/platform/browser.ts';
import { checkMatmul, type MatmulCheck } from '../gpu/selfcheck.ts';
import { DevicePanel } from './components/DevicePanel.tsx';
import { KernelCheck } from './components/KernelCheck.tsx';
import { isolationStatus } from './isolation.ts';

let contextPromise: Promise<GpuContext> | null = null;
function gpuContext(): Promise<GpuContext> {
  contextPromise ??= createBrowserGpuContext();
  return contextPromise;
}

export function App() {
  const [adapter, setAdapter] = useState<AdapterSummary | null>(null);
  const [gpuError, setGpuError] = useState<string | null>(null);
  const [check, setCheck] = useState<MatmulCheck[] | null>(null);
  const [checkError, setCheckError] = useState<string | null>(null);
  const [running, setRunning] = useState(false);
  const isolation = isolationStatus();

  const runCheck = useCallback(async () => {
    setRunning(true);
    setCheckError(null);
    try {
      const ctx = await gpuContext();
      setCheck(await checkMatmul(ctx));
    } catch (err) {
      setCheckError((err as Error).message);
    } finally {
      setRunning(false);
    }
  }, []);

  useEffect(() => {
    gpuContext().then(
      (ctx) => {
        setAdapter(ctx.adapter);
        void runCheck();
      },
      (err: Error) => setGpuError(err.message),
    );
  }, [runCheck]);

  return (
    <div className="app">
      <header className="app-header">
        <h1>ROSA Playground</h1>
        <p className="tagline">
          Windowed attention, global attention, ROSA retrieval and LRSA — trained on your GPU.
        </p>
      </header>
      <main className="grid">
        <DevicePanel adapter={adapter} error={gpuError} isolation={isolation} />
        {!gpuError && <KernelCheck results={check} running={running} error={checkError} onRun={runCheck} />}
      </main>
    </div>
  );
}
