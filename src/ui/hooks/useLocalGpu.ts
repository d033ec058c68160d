// The page's own WebGPU device: shown in the device panel and used by the kernel check
// (the trainer has its own device in its worker).

import { useCallback, useEffect, useState } from 'react';
import type { AdapterSummary, GpuContext } from '../../gpu/context.ts';
import { checkMatmul, type MatmulCheck } from '../../gpu/selfcheck.ts';

export interface LocalGpu {
  adapter: AdapterSummary | null;
  error: string | null;
  check: MatmulCheck[] | null;
  checkError: string | null;
  checking: boolean;
  runCheck: () => void;
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
  };
}
