// After a lost GPU device: says which runs it stopped and resumes them, each from its last good
// checkpoint, with one click (the engine has made a new device; new runs need nothing).

import { useShallow } from 'zustand/react/shallow';
import { usePlayground } from '../state/context.tsx';
import type { RunRecord } from '../state/types.ts';

export function RecoveryBanner() {
  const lost = usePlayground(
    useShallow((s) => s.runOrder.map((id) => s.runs[id]).filter((r): r is RunRecord => !!r?.deviceLost)),
  );
  const resumeAffected = usePlayground((s) => s.resumeAffected);
  const dismiss = usePlayground((s) => s.dismissDeviceLoss);
  if (lost.length === 0) return null;
  const resumable = lost.filter((r) => r.deviceLost?.checkpointStep !== null);
  const stuck = lost.filter((r) => r.deviceLost?.checkpointStep === null);
  const reason = lost[0].deviceLost?.reason;
  return (
    <div className="callout callout-warn banner" role="alert" data-testid="recovery-banner">
      <strong>The GPU device was lost</strong>
      {reason ? ` (${reason})` : ''}. New runs get a new device.{' '}
      {resumable.length > 0 &&
        `${resumable.map((r) => `${r.spec.name} (step ${r.deviceLost?.checkpointStep})`).join(', ')} can continue from ${resumable.length === 1 ? 'its' : 'their'} last good checkpoint. `}
      {stuck.length > 0 &&
        `${stuck.map((r) => r.spec.name).join(', ')} saved no checkpoint and cannot continue. `}
      {resumable.length > 0 && (
        <button type="button" className="small" onClick={() => void resumeAffected()}>
          Resume {resumable.length === 1 ? 'it' : `all ${resumable.length}`}
        </button>
      )}{' '}
      <button type="button" className="ghost small" onClick={dismiss}>
        Dismiss
      </button>
    </div>
  );
}
