import type { AdapterSummary } from '../../gpu/context.ts';
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
  workers?: number;
}

export function DevicePanel({ adapter, error, isolation, workers }: DevicePanelProps) {
  return (
    <section className="card" aria-labelledby="device-heading">
      <h2 id="device-heading">Device</h2>
      {error ? (
        <p className="error" data-testid="webgpu-error">
          {error}
        </p>
      ) : adapter ? (
        <dl className="facts" data-testid="adapter">
          <dt>Vendor</dt>
          <dd data-testid="adapter-vendor">{adapter.vendor || 'unknown'}</dd>
          <dt>Architecture</dt>
          <dd data-testid="adapter-architecture">{adapter.architecture || 'unknown'}</dd>
          <dt>Description</dt>
          <dd>{adapter.description || adapter.device || '—'}</dd>
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
      </dl>
      <p className="hint">{isolation.explanation}</p>
    </section>
  );
}
