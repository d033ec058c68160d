// The page's side of src/sw/service-worker.ts: registers it (offline copy, isolation headers)
// and, on a host that sends no COOP/COEP, reloads once so that the page comes back through the
// worker, cross-origin isolated. A session flag stops a second reload: if the page is still not
// isolated after it, it runs on the copy fallback and says so.

/** Defined by vite.config.ts: true in a build (which emits sw.js), false on the dev server. */
declare const __SERVICE_WORKER__: boolean | undefined;

export function serviceWorkerBuilt(): boolean {
  return typeof __SERVICE_WORKER__ !== 'undefined' && __SERVICE_WORKER__ === true;
}

export const RELOAD_FLAG = 'rosa-playground:isolation-reload';
export const SERVICE_WORKER_URL = './sw.js';

export type HostingOutcome =
  /** The page is reloading itself; render nothing. */
  | { kind: 'reloading' }
  /** Ready; `note` says what does not work here (absent when everything does). */
  | { kind: 'ready'; note?: string };

/** What register needs from the browser (injectable for tests). */
export interface HostingEnv {
  isolated: boolean;
  serviceWorker: ServiceWorkerContainer | undefined;
  session: Pick<Storage, 'getItem' | 'setItem' | 'removeItem'> | undefined;
  reload(): void;
}

const COPY_FALLBACK =
  'the ROSA workers copy symbol streams instead of sharing memory (a little slower; results are the same).';

function browserEnv(): HostingEnv {
  let session: Storage | undefined;
  try {
    session = sessionStorage;
  } catch {
    session = undefined; // storage blocked
  }
  return {
    isolated: globalThis.crossOriginIsolated === true,
    serviceWorker: 'serviceWorker' in navigator ? navigator.serviceWorker : undefined,
    session,
    reload: () => location.reload(),
  };
}

/**
 * Resolves true when a service worker controls the page, false when it will not: the new worker
 * failed to install (redundant), or nothing happened in time. Installing means downloading the
 * whole build, so an installing worker gets a minute; a browser that blocks workers, a few seconds.
 */
function controlled(container: ServiceWorkerContainer, registration: ServiceWorkerRegistration | undefined) {
  if (container.controller) return Promise.resolve(true);
  const installing = registration?.installing ?? registration?.waiting ?? null;
  return new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), installing ? 60_000 : 5_000);
    const done = (result: boolean) => {
      clearTimeout(timer);
      resolve(result);
    };
    container.addEventListener('controllerchange', () => done(true));
    installing?.addEventListener('statechange', () => {
      if (installing.state === 'redundant') done(false);
    });
  });
}

export async function prepareHosting(env: HostingEnv = browserEnv()): Promise<HostingOutcome> {
  const container = env.serviceWorker;
  if (!container) {
    return env.isolated
      ? {
          kind: 'ready',
          note: 'This browser offers no service workers, so the playground will not work offline.',
        }
      : {
          kind: 'ready',
          note: `This browser offers no service workers here (private window, or a page not served over HTTPS), so the page cannot make itself cross-origin isolated and will not work offline: ${COPY_FALLBACK}`,
        };
  }
  let registration: ServiceWorkerRegistration | undefined;
  try {
    registration = await container.register(SERVICE_WORKER_URL, { scope: './' });
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    return {
      kind: 'ready',
      note: `The offline service worker could not be registered (${why}).${env.isolated ? '' : ` Without it, ${COPY_FALLBACK}`}`,
    };
  }
  if (env.isolated) {
    env.session?.removeItem(RELOAD_FLAG);
    return { kind: 'ready' };
  }
  if (env.session?.getItem(RELOAD_FLAG)) {
    env.session.removeItem(RELOAD_FLAG);
    return {
      kind: 'ready',
      note: `The page is still not cross-origin isolated after reloading through its service worker, so ${COPY_FALLBACK}`,
    };
  }
  if (!env.session || !(await controlled(container, registration))) {
    return {
      kind: 'ready',
      note: `The service worker did not take over the page, so it is not cross-origin isolated and ${COPY_FALLBACK}`,
    };
  }
  env.session.setItem(RELOAD_FLAG, '1');
  env.reload();
  return { kind: 'reloading' };
}
