// `arr[0] = 5` on objects whose items live in shared memory: a proxy sends integer keys (negative
// ones count from the end) to the object's get and set, and everything else to the object itself.
export interface Indexed {
  get(i: number): unknown;
  set(i: number, v: unknown): void;
}

const isIndex = (key: string) => /^-?\d+$/.test(key);

export function indexable<T extends object & Indexed>(target: T): T {
  return new Proxy(target, {
    get: (t, key) => {
      if (typeof key === 'string' && isIndex(key)) return t.get(Number(key));
      const v = Reflect.get(t, key, t);
      // Methods run on the target: private fields are not reachable through a proxy.
      return typeof v === 'function' ? v.bind(t) : v;
    },
    set: (t, key, value) => {
      if (typeof key === 'string' && isIndex(key)) { t.set(Number(key), value); return true; }
      return Reflect.set(t, key, value, t);
    },
  });
}
