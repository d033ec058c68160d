// The small part of IndexedDB that src/ui/state/persistence.ts uses, in memory, with the
// same asynchronous request / transaction events, so the wrapper can be tested in Node.

type Listener = (() => void) | null;

class FakeRequest<T> {
  result!: T;
  error: Error | null = null;
  onsuccess: Listener = null;
  onerror: Listener = null;
  onupgradeneeded: Listener = null;
  onblocked: Listener = null;
}

class FakeObjectStore {
  constructor(
    private readonly data: Map<string, unknown>,
    private readonly keyPath: string | undefined,
    private readonly tx: FakeTransaction,
  ) {}

  private req<T>(fn: () => T): FakeRequest<T> {
    const r = new FakeRequest<T>();
    this.tx.pending++;
    queueMicrotask(() => {
      try {
        r.result = fn();
        r.onsuccess?.();
      } catch (err) {
        r.error = err as Error;
        r.onerror?.();
        this.tx.fail(err as Error);
      }
      this.tx.pending--;
      this.tx.maybeComplete();
    });
    return r;
  }

  private sortedKeys(): string[] {
    return [...this.data.keys()].sort();
  }

  put(value: unknown, key?: string): FakeRequest<string> {
    if (this.tx.mode !== 'readwrite') throw new Error('ReadOnlyError');
    return this.req(() => {
      const k = this.keyPath ? String((value as Record<string, unknown>)[this.keyPath]) : key;
      if (k === undefined) throw new Error('DataError: no key');
      this.data.set(k, structuredClone(value));
      return k;
    });
  }
  get(key: string): FakeRequest<unknown> {
    return this.req(() => structuredClone(this.data.get(key)));
  }
  getAll(): FakeRequest<unknown[]> {
    return this.req(() => this.sortedKeys().map((k) => structuredClone(this.data.get(k))));
  }
  getAllKeys(): FakeRequest<string[]> {
    return this.req(() => this.sortedKeys());
  }
  delete(key: string): FakeRequest<undefined> {
    if (this.tx.mode !== 'readwrite') throw new Error('ReadOnlyError');
    return this.req(() => {
      this.data.delete(key);
      return undefined;
    });
  }
  clear(): FakeRequest<undefined> {
    if (this.tx.mode !== 'readwrite') throw new Error('ReadOnlyError');
    return this.req(() => {
      this.data.clear();
      return undefined;
    });
  }
}

class FakeTransaction {
  pending = 0;
  error: Error | null = null;
  oncomplete: Listener = null;
  onerror: Listener = null;
  onabort: Listener = null;
  private finished = false;

  constructor(
    private readonly db: FakeDatabase,
    private readonly names: string[],
    readonly mode: string,
  ) {
    // A transaction with no requests still completes.
    setTimeout(() => this.maybeComplete(), 0);
  }

  objectStore(name: string): FakeObjectStore {
    if (!this.names.includes(name)) throw new Error(`NotFoundError: ${name} not in transaction`);
    const s = this.db.stores.get(name);
    if (!s) throw new Error(`NotFoundError: no store ${name}`);
    return new FakeObjectStore(s.data, s.keyPath, this);
  }

  fail(err: Error): void {
    if (this.finished) return;
    this.finished = true;
    this.error = err;
    this.onerror?.();
  }

  maybeComplete(): void {
    if (this.finished || this.pending > 0) return;
    setTimeout(() => {
      if (this.finished || this.pending > 0) return;
      this.finished = true;
      this.oncomplete?.();
    }, 0);
  }
}

class FakeDatabase {
  version = 0;
  readonly stores = new Map<string, { keyPath: string | undefined; data: Map<string, unknown> }>();
  get objectStoreNames(): { contains(name: string): boolean } {
    return { contains: (name: string) => this.stores.has(name) };
  }
  createObjectStore(name: string, options?: { keyPath?: string }): void {
    this.stores.set(name, { keyPath: options?.keyPath, data: new Map() });
  }
  transaction(names: string | string[], mode = 'readonly'): FakeTransaction {
    return new FakeTransaction(this, Array.isArray(names) ? names : [names], mode);
  }
  close(): void {}
}

export class FakeIndexedDb {
  readonly databases = new Map<string, FakeDatabase>();
  /** When set, open() fails with this message (a browser that refuses IndexedDB). */
  refuse: string | null = null;

  open(name: string, version: number): FakeRequest<FakeDatabase> {
    const req = new FakeRequest<FakeDatabase>();
    setTimeout(() => {
      if (this.refuse) {
        req.error = new Error(this.refuse);
        req.onerror?.();
        return;
      }
      let db = this.databases.get(name);
      if (!db) {
        db = new FakeDatabase();
        this.databases.set(name, db);
      }
      req.result = db;
      if (db.version < version) {
        req.onupgradeneeded?.();
        db.version = version;
      }
      req.onsuccess?.();
    }, 0);
    return req;
  }

  asFactory(): IDBFactory {
    return this as unknown as IDBFactory;
  }
}
