import type { AdapterSummary } from '../../gpu/context.ts';
import { optionalFeatureStatus } from '../../gpu/features.ts';
import type { IsolationStatus } from '../isolation.ts';

const SHOWN_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxStorageBuffersPerShaderStage',
  'maxComputeWorkgroupsPerDimension',
];

function formatLimit(name: string, value: number): string {
  if (name.endsWith('Size') && value >= 2 ** 20) return `${(value / 2 ** 20).toFixed(0)} MiB`;
  if (name.endsWith('Size') && value >= 1024) return `${(value / 1024).toFixed(0)} KiB`;
  return String(value);
}

export interface DevicePanelProps {
  adapter: AdapterSummary | null;
  error: string | null;
  isolation: IsolationStatus;
  /** Whose adapter is shown: the trainer's (in its worker) or the page's own. */
  adapterSource?: 'engine' | 'page';
  workers?: number;
  sharedMemory?: boolean;
  /** Why there is no training engine; null or absent when there is one. */
  engineError?: string | null;
  storage?: { kind: string; error: string | null };
}

export function DevicePanel({
  adapter,
  error,
  isolation,
  adapterSource,
  workers,
  sharedMemory,
  engineError,
  storage,
}: DevicePanelProps) {
  return (
    <section className="card" aria-labelledby="device-heading">
      <h2 id="device-heading">Device</h2>
      {error ? (
        <div className="callout callout-error">
          <p className="error" data-testid="webgpu-error">
            {error}
          </p>
          <p className="hint">
            Without WebGPU you can still train with the CPU backend (pick “CPU” under Training), only much
            more slowly.
          </p>
        </div>
      ) : adapter ? (
        <dl className="facts" data-testid="adapter">
          <dt>Vendor</dt>
          <dd data-testid="adapter-vendor">{adapter.vendor || 'unknown'}</dd>
          <dt>Architecture</dt>
          <dd data-testid="adapter-architecture">{adapter.architecture || 'unknown'}</dd>
          <dt>Description</dt>
          <dd>{adapter.description || adapter.device || '—'}</dd>
          {adapterSource && (
            <>
              <dt>Used by</dt>
              <dd>
                {adapterSource === 'engine' ? 'the trainer (in its worker)' : 'this page (kernel check)'}
              </dd>
            </>
          )}
          {adapter.isSoftware && (
            <>
              <dt>Note</dt>
              <dd className="warn">
                Software adapter: correct but slow; timings say nothing about a real GPU.
              </dd>
            </>
          )}
          {SHOWN_LIMITS.filter((n) => adapter.limits[n] !== undefined).map((name) => (
            <div key={name} className="fact-row">
              <dt>{name}</dt>
              <dd>{formatLimit(name, adapter.limits[name])}</dd>
            </div>
          ))}
          <dt>Optional features</dt>
          <dd>
            <ul className="feature-list" data-testid="optional-features">
              {optionalFeatureStatus(adapter).map(({ feature, present, detail }) => (
                <li key={feature} data-testid={`feature-${feature}`} className={present ? 'ok' : 'warn'}>
                  <code>{feature}</code>: {detail}
                </li>
              ))}
            </ul>
          </dd>
        </dl>
      ) : (
        <p>Looking for a WebGPU adapter…</p>
      )}
      <dl className="facts">
        <dt>Cross-origin isolated</dt>
        <dd data-testid="isolation" className={isolation.isolated ? 'ok' : 'warn'}>
          {String(isolation.isolated)}
        </dd>
        {workers !== undefined && (
          <>
            <dt>ROSA workers</dt>
            <dd data-testid="worker-count">{workers}</dd>
          </>
        )}
        {sharedMemory !== undefined && (
          <>
            <dt>Workers share memory</dt>
            <dd data-testid="shared-memory" className={sharedMemory ? 'ok' : 'warn'}>
              {sharedMemory ? 'yes (SharedArrayBuffer)' : 'no (buffers are copied)'}
            </dd>
          </>
        )}
        {engineError && (
          <>
            <dt>Training engine</dt>
            <dd className="warn" data-testid="engine-status">
              not available
            </dd>
          </>
        )}
        {storage && (
          <>
            <dt>Runs kept in</dt>
            <dd className={storage.error ? 'warn' : undefined}>{storage.kind}</dd>
          </>
        )}
      </dl>
      <p className="hint">{isolation.explanation}</p>
      {engineError && <p className="hint">{engineError}</p>}
      {storage?.error && <p className="hint warn">{storage.error}</p>}
    </section>
  );
}
