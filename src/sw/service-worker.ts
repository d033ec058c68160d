// The page's own service worker (built to sw.js beside index.html by build-plugin.ts).
// Two jobs:
//  1. Cross-origin isolation on hosts that cannot send headers: every response it serves gets
//     COOP same-origin and COEP require-corp, so the page (and its workers) become
//     crossOriginIsolated and SharedArrayBuffer exists.
//  2. Offline: on install it caches the whole build (the list the build wrote into
//     __PRECACHE_MANIFEST__); built files are answered from the cache, pages from the network
//     first and from the cache when the network is gone.
// It imports nothing, so the bundle is a plain script.

/** Written by the build in front of this file (build-plugin.ts). */
declare const __PRECACHE_MANIFEST__: { version: string; files: string[] };

// The DOM library has no service-worker types (and WebWorker's clash with it): the few used here.
interface ExtendableEvent extends Event {
  waitUntil(promise: Promise<unknown>): void;
}
interface FetchEvent extends ExtendableEvent {
  readonly request: Request;
  respondWith(response: Response | Promise<Response>): void;
}
interface ServiceWorkerScope {
  readonly registration: { readonly scope: string };
  readonly clients: { claim(): Promise<void> };
  skipWaiting(): Promise<void>;
  addEventListener(type: 'install' | 'activate', listener: (event: ExtendableEvent) => void): void;
  addEventListener(type: 'fetch', listener: (event: FetchEvent) => void): void;
}

const scope = self as unknown as ServiceWorkerScope;
const CACHE_PREFIX = 'rosa-playground-';
const cacheName = `${CACHE_PREFIX}${__PRECACHE_MANIFEST__.version}`;
const base = scope.registration.scope;
const indexUrl = new URL('index.html', base).href;

/** A copy of the response with the isolation headers; opaque responses cannot be rewritten. */
function isolated(response: Response): Response {
  if (response.status === 0) return response;
  const headers = new Headers(response.headers);
  headers.set('Cross-Origin-Opener-Policy', 'same-origin');
  headers.set('Cross-Origin-Embedder-Policy', 'require-corp');
  headers.set('Cross-Origin-Resource-Policy', 'same-origin');
  // Statuses that must not carry a body (a Response with one would throw).
  const body = [101, 204, 205, 304].includes(response.status) ? null : response.body;
  return new Response(body, { status: response.status, statusText: response.statusText, headers });
}

scope.addEventListener('install', (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(cacheName);
      // no-cache: a stale HTTP cache must not mix an old file into a new build's set.
      const urls = __PRECACHE_MANIFEST__.files.map(
        (f) => new Request(new URL(f, base).href, { cache: 'no-cache' }),
      );
      await cache.addAll(urls);
      await scope.skipWaiting();
    })(),
  );
});

scope.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) {
        if (name.startsWith(CACHE_PREFIX) && name !== cacheName) await caches.delete(name);
      }
      // Take the open page at once: it reloads itself to become isolated (src/ui/hosting/register.ts).
      await scope.clients.claim();
    })(),
  );
});

async function fromCache(request: Request): Promise<Response | undefined> {
  const cache = await caches.open(cacheName);
  return (await cache.match(request, { ignoreSearch: true })) ?? undefined;
}

async function navigate(request: Request): Promise<Response> {
  try {
    return await fetch(request);
  } catch (err) {
    // Offline: the app shell for any page inside the scope.
    const cache = await caches.open(cacheName);
    const shell = (await cache.match(request, { ignoreSearch: true })) ?? (await cache.match(indexUrl));
    if (shell) return shell;
    throw err;
  }
}

async function answer(request: Request): Promise<Response> {
  const response =
    request.mode === 'navigate'
      ? await navigate(request)
      : ((await fromCache(request)) ?? (await fetch(request)));
  return isolated(response);
}

scope.addEventListener('fetch', (event) => {
  const { request } = event;
  // Chrome rejects only-if-cached outside same-origin mode; leave those (and other origins) alone.
  if (request.cache === 'only-if-cached' && request.mode !== 'same-origin') return;
  if (new URL(request.url).origin !== new URL(base).origin) return;
  event.respondWith(answer(request));
});
