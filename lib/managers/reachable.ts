// Which managed objects can still be reached. A proxy stored inside another managed object (a list
// in a dict) arrives on the server as the object itself, and nothing tells the server when the
// container lets it go (dict.delete, list.pop, the dict freed). So such an object is not counted
// per place that holds it; once no proxy names it, it lives exactly as long as some object that a
// proxy does name can reach it, which a walk from those objects finds out. CPython gets the same
// from server-side proxies with reference counts of their own.

/** The server's view of one held object, as far as the walk needs it. */
export interface Node { obj: object; refs: number }

/**
 * The ids, of those in `candidates`, that neither an object with refs > 0 nor `roots` reach through
 * arrays, Maps, Sets, plain objects and the enumerable fields of class instances. `idOf` says which
 * objects are held, and their ids.
 */
export function unreachable(held: ReadonlyMap<number, Node>, candidates: ReadonlySet<number>, roots: unknown[], idOf: (v: object) => number | undefined): number[] {
  const seen = new Set<object>();
  const stack: object[] = [];
  const visit = (v: unknown) => { if (typeof v === 'object' && v !== null && !seen.has(v)) { seen.add(v); stack.push(v); } };
  for (const node of held.values()) if (node.refs > 0) visit(node.obj);
  roots.forEach(visit);
  const reached = new Set<number>();
  for (let v = stack.pop(); v !== undefined; v = stack.pop()) {
    const id = idOf(v);
    if (id !== undefined) reached.add(id);
    if (ArrayBuffer.isView(v) || v instanceof ArrayBuffer || v instanceof Date || v instanceof RegExp) continue;
    if (v instanceof Map) for (const [k, x] of v) { visit(k); visit(x); }
    else if (v instanceof Set || Array.isArray(v)) for (const x of v) visit(x);
    else for (const k in v) visit((v as Record<string, unknown>)[k]);
  }
  return [...candidates].filter((id) => !reached.has(id));
}
