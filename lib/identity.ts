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
