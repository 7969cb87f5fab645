// Runs parsed docs: every block on every runtime (blocks of a doc in order, docs in parallel) plus
// one type-check, and turns each run into a result the reporters print.
import type { Block, Doc, Expected, Runtime } from './parse.ts';
import { onPath, type Installed, type Missing } from './runtimes.ts';
import { createWorkspace, shown, type Workspace } from './workspace.ts';
import { run, type RunResult } from './exec.ts';
import { diff, match } from './match.ts';
import { typecheck } from './typecheck.ts';
import { dirname } from 'node:path';

export type Column = Runtime | 'tsc';
export type Status = 'passed' | 'failed' | 'skipped';

export interface Result {
  doc: string; // as shown: relative to the working directory
  line: number;
  heading: string;
  column: Column;
  status: Status;
  message?: string; // why it failed or was skipped, one line
  details?: string; // diff, stderr
  ms?: number;
}

export interface RunOptions {
  cwd: string;
  root: string;
  jobs: number;
  runtimes: (Installed | Missing)[];
  typecheck: boolean;
  /** Stop starting blocks once one has failed; those not started are reported as skipped. */
  bail?: boolean;
  onResult?: (result: Result, done: number, total: number) => void;
  /** Called once a doc's every result is in, with those results. */
  onDoc?: (doc: string, results: Result[]) => void;
}

export async function runDocs(docs: Doc[], opts: RunOptions): Promise<Result[]> {
  const spaces = docs.map((doc) => createWorkspace(doc, opts.cwd));
  const results: Result[] = [];
  const perDoc = (d: Doc) => d.blocks.filter((b) => !b.file).length * opts.runtimes.length + (opts.typecheck ? d.blocks.length : 0);
  const total = docs.reduce((n, d) => n + perDoc(d), 0);
  const pending = new Map(docs.map((d) => [shown(d.path, opts.cwd), perDoc(d)]));
  const gate = new Gate();
  const emit = (r: Result) => {
    results.push(r);
    if (r.status === 'failed' && opts.bail) gate.stopped = true;
    opts.onResult?.(r, results.length, total);
    const left = pending.get(r.doc)! - 1;
    pending.set(r.doc, left);
    if (left === 0) opts.onDoc?.(r.doc, results.filter((x) => x.doc === r.doc));
  };
  try {
    const checked = opts.typecheck ? gated(gate, false, () => typeResults(spaces, opts, emit)) : Promise.resolve();
    const jobs = spaces.flatMap((space) => opts.runtimes.map((rt) => () => runDoc(space, rt, opts, emit, gate)));
    await Promise.all([checked, pool(jobs, opts.jobs)]);
  } finally {
    for (const space of spaces) space.remove();
  }
  // Results arrive in whatever order the parallel jobs finish; reports read in doc order.
  const order = ['tsc', ...opts.runtimes.map((rt) => rt.name)];
  return results.sort((a, b) => a.doc.localeCompare(b.doc) || a.line - b.line || order.indexOf(a.column) - order.indexOf(b.column));
}

/**
 * Lets blocks run side by side, except those marked `alone`: such a block waits for the others to
 * finish and holds new ones back until it is done, so what it measures is not the runner's load.
 */
class Gate {
  /** Set by --bail at the first failure: no block starts after it. */
  stopped = false;
  #running = 0;
  #alone = false;
  #aloneWaiting = 0;
  #wakers = new Set<() => void>();

  async enter(alone: boolean): Promise<void> {
    if (alone) this.#aloneWaiting++;
    const blocked = () => this.#alone || (alone ? this.#running > 0 : this.#aloneWaiting > 0);
    while (blocked()) await new Promise<void>((r) => this.#wakers.add(r));
    if (alone) { this.#aloneWaiting--; this.#alone = true; } else this.#running++;
  }

  leave(alone: boolean): void {
    if (alone) this.#alone = false; else this.#running--;
    const wake = [...this.#wakers];
    this.#wakers.clear();
    for (const w of wake) w();
  }
}

async function pool(jobs: (() => Promise<void>)[], size: number) {
  let next = 0;
  const worker = async () => { while (next < jobs.length) await jobs[next++](); };
  await Promise.all(Array.from({ length: Math.max(1, size) }, worker));
}

function base(space: Workspace, block: Block, opts: RunOptions, column: Column) {
  return { doc: shown(space.doc.path, opts.cwd), line: block.line, heading: block.heading, column };
}

async function typeResults(spaces: Workspace[], opts: RunOptions, emit: (r: Result) => void) {
  const report = await typecheck(spaces, opts.root);
  for (const space of spaces) {
    // file= modules get a tsc result of their own: they are checked, never run.
    for (const block of space.doc.blocks) {
      const r = base(space, block, opts, 'tsc');
      const errors = 'errors' in report ? report.errors.get(block) ?? [] : [];
      if (block.skip) emit({ ...r, status: 'skipped', message: 'skip' });
      else if (block.lang === 'js') emit({ ...r, status: 'skipped', message: 'a js block is not type-checked' });
      else if ('skipped' in report) emit({ ...r, status: 'skipped', message: report.skipped });
      else if (errors.length) emit({ ...r, status: 'failed', message: 'type error', details: errors.join('\n') });
      else emit({ ...r, status: 'passed' });
    }
  }
}

async function gated<T>(gate: Gate, alone: boolean, work: () => Promise<T>): Promise<T> {
  await gate.enter(alone);
  try { return await work(); } finally { gate.leave(alone); }
}

async function runDoc(space: Workspace, rt: Installed | Missing, opts: RunOptions, emit: (r: Result) => void, gate: Gate) {
  for (const block of space.doc.blocks) {
    if (block.file) continue;
    const r = base(space, block, opts, rt.name);
    if ('reason' in rt) { emit({ ...r, status: 'skipped', message: rt.reason }); continue; }
    if (block.skip) { emit({ ...r, status: 'skipped', message: 'skip' }); continue; }
    if (block.noRun) { emit({ ...r, status: 'skipped', message: 'no-run: type-checked only' }); continue; }
    if (block.runtimes && !block.runtimes.includes(rt.name)) {
      emit({ ...r, status: 'skipped', message: `runtime=${block.runtimes.join(',')}: the doc says it does not run on ${rt.name}` });
      continue;
    }
    const lacking = block.needs.filter((command) => !onPath(command));
    if (lacking.length) {
      emit({ ...r, status: 'skipped', message: `needs=${block.needs.join(',')}: ${lacking.join(', ')} ${lacking.length > 1 ? 'are' : 'is'} not on PATH; install ${lacking.length > 1 ? 'them' : 'it'} to run this block` });
      continue;
    }
    const args = rt.args(space.files.get(block)!);
    if ('reason' in args) { emit({ ...r, status: 'skipped', message: args.reason }); continue; }
    if (gate.stopped) { emit({ ...r, status: 'skipped', message: 'not run: --bail stopped the run at a failure' }); continue; }
    emit({ ...r, ...(await gated(gate, block.alone, () => runBlock(space, block, rt, args, opts.cwd))) });
  }
}

async function runBlock(space: Workspace, block: Block, rt: Installed, args: string[], cwd: string): Promise<Pick<Result, 'status' | 'message' | 'details' | 'ms'>> {
  let ms = 0;
  for (let i = 1; i <= block.repeat; i++) {
    const result = await run(rt.bin, args, {
      cwd: dirname(space.doc.path), timeout: block.timeout, env: { MDSPEC_RUNTIME: rt.name },
    });
    ms += result.ms;
    const failure = judge(block, rt.name, result, space, cwd);
    if (failure) {
      const prefix = block.repeat > 1 ? `run ${i} of ${block.repeat}: ` : '';
      return { status: 'failed', message: prefix + failure.message, details: failure.details, ms };
    }
  }
  return { status: 'passed', ms: ms / block.repeat };
}

function judge(block: Block, runtime: Runtime, result: RunResult, space: Workspace, cwd: string): { message: string; details?: string } | null {
  const stdout = space.rewrite(result.stdout);
  const stderr = space.rewrite(result.stderr);
  const tail = (s: string) => s.trimEnd().split('\n').slice(-30).join('\n');
  if (result.timedOut) return { message: `timed out after ${block.timeout} ms; its process tree was killed (raise timeout= if it needs longer)`, details: tail(stderr || stdout) };
  const failed = result.code !== 0;
  if (block.fails && !failed) return { message: 'exited 0, but the block is marked fails', details: tail(stdout) };
  if (!block.fails && failed) {
    const how = result.signal ? `was killed by ${result.signal}` : `exited with code ${result.code}`;
    return { message: how, details: tail(stderr || stdout) };
  }
  for (const stream of ['stdout', 'stderr'] as const) {
    const expected = pick(block.expected, stream, runtime);
    if (!expected) continue;
    const actual = stream === 'stdout' ? stdout : stderr;
    const m = match(expected, actual);
    if (!m.ok) {
      const where = `${shown(space.doc.path, cwd)}:${expected.line}`;
      const legend = `- expected, from ${where}\n+ actual, what the block printed`;
      const details = legend + '\n' + diff(expected.lines, actual).join('\n') + (stream === 'stdout' && stderr.trim() ? `\nstderr:\n${tail(stderr)}` : '');
      return { message: `${stream} does not match the output block at ${where}: ${m.reason}`, details };
    }
  }
  return null;
}

/** The runtime's own output block if the doc has one, else the shared one. */
function pick(expected: Expected[], stream: Expected['stream'], runtime: Runtime): Expected | undefined {
  const mine = expected.filter((e) => e.stream === stream);
  return mine.find((e) => e.runtimes?.includes(runtime)) ?? mine.find((e) => !e.runtimes);
}
