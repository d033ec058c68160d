// The page's side of the service worker: one reload at most, and a note wherever the page
// cannot be isolated or cached.

import { describe, expect, it } from 'vitest';
import { type HostingEnv, prepareHosting, RELOAD_FLAG } from '../../../src/ui/hosting/register.ts';

class FakeContainer extends EventTarget {
  controller: object | null = null;
  registered: string[] = [];
  constructor(
    private readonly behaviour: { fail?: string; takesControl?: boolean; installFails?: boolean } = {},
  ) {
    super();
  }
  async register(url: string): Promise<object> {
    if (this.behaviour.fail) throw new Error(this.behaviour.fail);
    this.registered.push(url);
    if (this.behaviour.installFails) {
      // The worker starts installing, then its precache download fails.
      const installing = Object.assign(new EventTarget(), { state: 'installing' });
      setTimeout(() => {
        installing.state = 'redundant';
        installing.dispatchEvent(new Event('statechange'));
      }, 1);
      return { installing };
    }
    if (this.behaviour.takesControl !== false) {
      setTimeout(() => {
        this.controller = {};
        this.dispatchEvent(new Event('controllerchange'));
      }, 1);
    }
    return {};
  }
}

function env(isolated: boolean, container: FakeContainer | undefined, session = new Map<string, string>()) {
  let reloads = 0;
  const e: HostingEnv = {
    isolated,
    serviceWorker: container as unknown as ServiceWorkerContainer | undefined,
    session: {
      getItem: (k) => session.get(k) ?? null,
      setItem: (k, v) => void session.set(k, v),
      removeItem: (k) => void session.delete(k),
    },
    reload: () => {
      reloads++;
    },
  };
  return { e, session, reloads: () => reloads };
}

describe('prepareHosting', () => {
  it('an isolated page registers the worker for offline use and does not reload', async () => {
    const sw = new FakeContainer();
    const { e, reloads } = env(true, sw);
    expect(await prepareHosting(e)).toEqual({ kind: 'ready' });
    expect(sw.registered).toEqual(['./sw.js']);
    expect(reloads()).toBe(0);
  });

  it('a page without headers reloads once through the worker, and not a second time', async () => {
    const session = new Map<string, string>();
    const first = env(false, new FakeContainer(), session);
    expect(await prepareHosting(first.e)).toEqual({ kind: 'reloading' });
    expect(first.reloads()).toBe(1);
    expect(session.get(RELOAD_FLAG)).toBe('1');
    // Still not isolated after the reload: no loop, a note instead, and the flag is spent.
    const second = env(false, new FakeContainer(), session);
    const outcome = await prepareHosting(second.e);
    expect(second.reloads()).toBe(0);
    expect(outcome).toMatchObject({
      kind: 'ready',
      note: expect.stringMatching(/still not cross-origin isolated/),
    });
  });

  it('after the reload the isolated page clears the flag', async () => {
    const session = new Map([[RELOAD_FLAG, '1']]);
    const { e } = env(true, new FakeContainer(), session);
    expect(await prepareHosting(e)).toEqual({ kind: 'ready' });
    expect(session.has(RELOAD_FLAG)).toBe(false);
  });

  it('says what is missing without service workers or when registration fails', async () => {
    expect(await prepareHosting(env(false, undefined).e)).toMatchObject({
      kind: 'ready',
      note: expect.stringMatching(/no service workers.*copy symbol streams/),
    });
    expect(await prepareHosting(env(true, undefined).e)).toMatchObject({
      note: expect.stringMatching(/will not work offline/),
    });
    const failed = env(false, new FakeContainer({ fail: 'blocked by policy' }));
    expect(await prepareHosting(failed.e)).toMatchObject({
      note: expect.stringMatching(/could not be registered \(blocked by policy\).*copy/),
    });
    expect(failed.reloads()).toBe(0);
  });

  it('does not reload when the worker fails to install', async () => {
    const { e, reloads } = env(false, new FakeContainer({ installFails: true }));
    expect(await prepareHosting(e)).toMatchObject({
      note: expect.stringMatching(/did not take over the page/),
    });
    expect(reloads()).toBe(0);
  });
});
