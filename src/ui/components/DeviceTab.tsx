// The Device tab: a short "how to start" for newcomers, the adapter and its limits,
// isolation and the ROSA workers, and the matmul kernel check of this page's GPU.

import type { LocalGpu } from '../hooks/useLocalGpu.ts';
import { isolationStatus } from '../isolation.ts';
import { usePlayground } from '../state/context.tsx';
import { DevicePanel } from './DevicePanel.tsx';
import { KernelCheck } from './KernelCheck.tsx';
import { KernelProfile } from './KernelProfile.tsx';

export function GettingStarted() {
  return (
    <section className="card getting-started" aria-labelledby="start-heading">
      <h2 id="start-heading">Getting started</h2>
      <ol>
        <li>
          <strong>Check your device</strong> below: a WebGPU adapter, and the kernel check matching the CPU.
        </li>
        <li>
          <strong>Pick a preset</strong> on the left. “NIAH: window vs ROSA vs global (tiny)” trains three
          small models on the same passkey task in a few minutes.
        </li>
        <li>
          <strong>Press Start.</strong> Loss curves appear under <em>Curves</em>; each run has its progress,
          ETA and step-time split on the left.
        </li>
        <li>
          Then look at <em>Retrieval</em> (what ROSA retrieved, against what the window sees) and{' '}
          <em>NIAH</em> (hide your own key and see which model finds it).
        </li>
      </ol>
      <p className="hint">
        New to ROSA? <em>How ROSA works</em> runs its suffix-automaton scan on text you type, position by
        position.
      </p>
      <p className="hint">
        Everything runs in this browser: the models train on your GPU, runs and curves stay in this browser's
        storage, and the setup is in the page address, so a link reproduces it.
      </p>
    </section>
  );
}

export function DeviceTab({ gpu }: { gpu: LocalGpu }) {
  const engine = usePlayground((s) => s.engine);
  const storageKind = usePlayground((s) => s.storageKind);
  const storageError = usePlayground((s) => s.storageError);
  const hasRuns = usePlayground((s) => s.runOrder.length > 0);
  const info = engine.info;
  const engineAdapter = info?.adapter ?? null;
  const adapter = engineAdapter ?? gpu.adapter;
  const error = engineAdapter ? null : gpu.adapter ? null : (info?.gpuError ?? gpu.error);
  return (
    <div className="device-tab">
      {!hasRuns && <GettingStarted />}
      <div className="grid">
        <DevicePanel
          adapter={adapter}
          error={error}
          isolation={isolationStatus()}
          adapterSource={engineAdapter ? 'engine' : gpu.adapter ? 'page' : undefined}
          workers={info?.rosaWorkers}
          sharedMemory={info?.rosaSharedMemory}
          engineError={engine.status === 'unavailable' ? engine.error : null}
          storage={{ kind: storageKind, error: storageError }}
        />
        {!gpu.error && (
          <KernelCheck
            results={gpu.check}
            running={gpu.checking}
            error={gpu.checkError}
            onRun={gpu.runCheck}
          />
        )}
        {gpu.adapter && (
          <KernelProfile
            available={gpu.adapter.features.includes('timestamp-query')}
            onProfile={gpu.profileStep}
          />
        )}
      </div>
    </div>
  );
}
