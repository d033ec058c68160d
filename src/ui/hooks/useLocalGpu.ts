// The page's own WebGPU device: shown in the device panel and used by the kernel check
// (the trainer has its own device in its worker).

import { useCallback, useEffect, useState } from 'react';
import type { AdapterSummary, GpuContext } from '../../gpu/context.ts';
import type { Variant } from '../../gpu/model/config.ts';
import type { MatmulCheck } from '../../gpu/selfcheck.ts';
import type { StepProfile } from '../../gpu/train/profile-step.ts';

export interface LocalGpu {
  adapter: AdapterSummary | null;
  error: string | null;
  check: MatmulCheck[] | null;
  checkError: string | null;
  checking: boolean;
  runCheck: () => void;
  /** One training step of a small model of this variant, every kernel timed (Device tab). */
  profileStep: (variant: Variant) => Promise<StepProfile>;
}

export function useLocalGpu(open: () => Promise<GpuContext>): LocalGpu {
  const [adapter, setAdapter] = useState<AdapterSummary | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [check, setCheck] = useState<MatmulCheck[] | null>(null);
  const [checkError, setCheckError] = useState<string | null>(null);
  const [checking, setChecking] = useState(false);

  const runCheck = useCallback(async () => {
    setChecking(true);
    setCheckError(null);
    try {
      const ctx = await open();
      // Loaded on demand, after the first paint: the kernels are not part of the first page load.
      const { checkMatmul } = await import('../../gpu/selfcheck.ts');
      setCheck(await checkMatmul(ctx));
    } catch (err) {
      setCheckError((err as Error).message);
    } finally {
      setChecking(false);
    }
  }, [open]);

  useEffect(() => {
    let live = true;
    open().then(
      (ctx) => {
        if (!live) return;
        setAdapter(ctx.adapter);
        void runCheck();
      },
      (err: Error) => {
        if (live) setError(err.message);
      },
    );
    return () => {
      live = false;
    };
  }, [open, runCheck]);

  return {
    adapter,
    error,
    check,
    checkError,
    checking,
    runCheck: () => {
      void runCheck();
    },
    profileStep: async (variant) => {
      const ctx = await open();
      // Loaded on demand: the model code is not part of the first page load.
      const { profileSmallStep } = await import('../../gpu/train/profile-step.ts');
      return profileSmallStep(ctx, variant);
    },
  };
}
