// Who this process or thread is, in Python's terms: its name and its parent.
let name: string | null = null;
let parentPid: number | null = null;

export function setIdentity(n: string, parent: number | null) {
  name = n;
  parentPid = parent;
}

export function ownName(fallback: string): string {
  return name ?? fallback;
}

export function ownParent(): number | null {
  return parentPid;
}

// Python's spawn guard: a child imports the module of its target, so code at that module's top
// level runs again there; one that starts a process or thread would start another in each child,
// without end. Whatever starts one while such an import is under way is refused instead.
let importing: string | null = null;

/** Runs `load` (a child's import of its target's module), refusing new processes and threads meanwhile. */
export async function importingTarget<T>(module: string, load: () => Promise<T>): Promise<T> {
  importing = module;
  try { return await load(); } finally { importing = null; }
}

/** Throws if this process or thread is still importing its target's module: the program lacks its isMain guard. */
export function checkNotImporting(kind: 'Process' | 'Thread' | 'Pool') {
  if (importing === null) return;
  throw new Error(`A ${kind} was started while a child was importing ${importing} to find its target: start it only in the main program, under \`if (mp.isMain(import.meta))\` (Python's \`if __name__ == '__main__':\`)`);
}

// Work this process started and did not wait for (a manager call whose promise nobody awaited),
// which must still reach its end before a child exits: in Python such a call is synchronous.
const unfinished = new Set<() => Promise<void>>();

/** Registers a source of such work: `idle` resolves once it has none left. */
export function finishBeforeExit(idle: () => Promise<void>) {
  unfinished.add(idle);
}

/** Resolves once every registered source is idle. */
export async function finished(): Promise<void> {
  await Promise.all([...unfinished].map((idle) => idle()));
}
