// The Device tab's kernel profile: one training step on this page's GPU with every kernel
// timed by timestamp queries, so a user sees where a step's GPU time goes on their device.

import { useState } from 'react';
import type { Variant } from '../../gpu/model/config.ts';
import type { StepProfile } from '../../gpu/train/profile-step.ts';

const VARIANTS: Variant[] = ['window', 'window+rosa', 'global', 'lrsa'];
/** Rows shown before "and N more". */
const SHOWN = 15;

export interface KernelProfileProps {
  /** False where the adapter offers no timestamp-query. */
  available: boolean;
  onProfile: (variant: Variant) => Promise<StepProfile>;
}

export function KernelProfile({ available, onProfile }: KernelProfileProps) {
  const [variant, setVariant] = useState<Variant>('window+rosa');
  const [running, setRunning] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [profile, setProfile] = useState<StepProfile | null>(null);

  const run = async () => {
    setRunning(true);
    setError(null);
    try {
      setProfile(await onProfile(variant));
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setRunning(false);
    }
  };

  return (
    <section className="card" aria-labelledby="profile-heading">
      <h2 id="profile-heading">Kernel profile</h2>
      {!available ? (
        <p className="hint" data-testid="profile-unavailable">
          This adapter does not offer <code>timestamp-query</code>, so kernels cannot be timed here. (Chrome
          offers it on most GPUs; the step-time split of each run still shows forward, scan, backward and
          optimizer.)
        </p>
      ) : (
        <>
          <p className="hint">
            Times every kernel of one training step (2 layers, width 64, T = 128, batch 4) on this GPU. Each
            kernel runs in its own timed pass, so the total is longer than a normal step; the split is what
            carries over. Browsers may round timestamps to 0.1 ms.
          </p>
          <label>
            variant{' '}
            <select
              value={variant}
              onChange={(e) => setVariant(e.target.value as Variant)}
              disabled={running}
            >
              {VARIANTS.map((v) => (
                <option key={v} value={v}>
                  {v}
                </option>
              ))}
            </select>
          </label>{' '}
          <button type="button" onClick={() => void run()} disabled={running}>
            {running ? 'Profiling…' : 'Profile one step'}
          </button>
        </>
      )}
      {error && <p className="error">{error}</p>}
      {profile && <ProfileTable profile={profile} />}
    </section>
  );
}

function ProfileTable({ profile }: { profile: StepProfile }) {
  const total = Math.max(profile.totalMs, 1e-9);
  const rest = profile.kernels.slice(SHOWN);
  return (
    <>
      <p data-testid="profile-summary">
        {profile.variant}: {profile.dispatches} dispatches, {profile.totalMs.toFixed(2)} ms of GPU time
      </p>
      <table className="table" data-testid="profile-table">
        <thead>
          <tr>
            <th>kernel</th>
            <th>calls</th>
            <th>GPU ms</th>
            <th>share</th>
          </tr>
        </thead>
        <tbody>
          {profile.kernels.slice(0, SHOWN).map((k) => (
            <tr key={k.kernel}>
              <td>{k.kernel}</td>
              <td>{k.calls}</td>
              <td>{k.totalMs.toFixed(3)}</td>
              <td>{((100 * k.totalMs) / total).toFixed(1)}%</td>
            </tr>
          ))}
        </tbody>
      </table>
      {rest.length > 0 && (
        <p className="hint">
          and {rest.length} more kernels, {rest.reduce((s, k) => s + k.totalMs, 0).toFixed(3)} ms together
        </p>
      )}
    </>
  );
}
