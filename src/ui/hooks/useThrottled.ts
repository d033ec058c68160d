import { useEffect, useRef, useState } from 'react';

/**
 * `value`, but changing at most once per `ms` (the latest value always arrives). `phaseMs`
 * shifts the schedule, so that several throttled views do their work at different moments.
 */
export function useThrottled<T>(value: T, ms: number, phaseMs = 0): T {
  const [shown, setShown] = useState(value);
  const last = useRef(phaseMs > 0 ? Date.now() - ms + phaseMs : 0);
  useEffect(() => {
    const now = Date.now();
    const wait = last.current + ms - now;
    if (wait <= 0) {
      last.current = now;
      setShown(value);
      return;
    }
    const timer = setTimeout(() => {
      last.current = Date.now();
      setShown(value);
    }, wait);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return shown;
}
