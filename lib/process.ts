// Process: a child of the same runtime with its own pid, running an exported function of the
// parent's module (Python's spawn start method). Its stdout and stderr are the parent's.
import type { ChildProcess } from 'node:child_process';
import { builtin } from './platform/builtins.ts';
import { RUNTIMES, programModule, runtime, type RuntimeName } from './platform/runtime.ts';
import { childCommand, childEnv, childModule } from './platform/launch.ts';
import { bundleMade } from './platform/ts_bundle.ts';
import { ENDED, checkStartMethod, checkTarget, joinWithin, makeSpec, moduleURL, nonDaemonsEnded, specEnv, startMethodOr, type ArgsOption, type StartMethod, type Target } from './spawn.ts';
import { prepareProcesses, takeProcess } from './warm.ts';
import { sendable } from './reduction.ts';
import { checkNotImporting, finishBeforeExit, ownName, ownParent } from './identity.ts';
import { ownFile } from './platform/files.ts';
import { processEnded } from './platform/linux.ts';

export type ProcessOptions<A extends unknown[]> = ArgsOption<A> & {
  target: Target<A>;
  name?: string;
  daemon?: boolean;
  /** The module that exports the target (import.meta.url); by default the program's main module. */
  module?: string | URL;
  /** The runtime the child runs on: by default the parent's. */
  runtime?: RuntimeName;
  /** 'spawn' or 'warm' (a spare booted ahead takes the target); by default the program's, see setStartMethod(). */
  startMethod?: StartMethod;
};

/** What a subclass that overrides run() passes to super(): no target, as its run() is what the child runs. */
export type RunOptions = Omit<ProcessOptions<[]>, 'target' | 'args'> & { target?: never; args?: never };

type State = 'initial' | 'started' | 'exited';
// A subclass's instance is made in the child by this static method, looked up by this key.
const RUN_AS_CHILD = Symbol.for('mpkit.runAsChild');
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a set of processes of any argument types
const active = new Set<Process<any[]>>();
let counter = 0;
const bootstrap = ownFile('bootstrap.ts');

export class Process<A extends unknown[] = unknown[]> {
  name: string;
  #daemon: boolean;
  exitCode: number | null = null;
  #state: State = 'initial';
  #options: ProcessOptions<unknown[]>; // A checks the constructor's arguments only, so any Process is a Process<unknown[]>
  #child: ChildProcess | null = null;
  #exited: Promise<void> | null = null;
  #self = false; // this object is the process itself, made in the child (a subclass's run())

  constructor(options: ProcessOptions<A>);
  /** For a subclass that overrides run(). */
  constructor(options?: RunOptions);
  constructor(options: ProcessOptions<A> | RunOptions = {}) {
    if (!overridesRun(new.target)) checkTarget('Process', options);
    if (options.startMethod !== undefined) checkStartMethod(options.startMethod);
    if (options.runtime !== undefined && !RUNTIMES.includes(options.runtime)) {
      throw new TypeError(`Unknown runtime "${options.runtime}": use ${RUNTIMES.join(', ')}`);
    }
    this.#options = options as ProcessOptions<unknown[]>;
    this.name = options.name ?? `Process-${++counter}`;
    this.#daemon = options.daemon ?? false;
  }

  /** A daemon process does not keep the program from ending; set it before start(), as in Python. */
  get daemon(): boolean { return this.#daemon; }
  set daemon(value: boolean) {
    if (this.#child) throw new Error('Cannot set daemon on a process that has started: set it before start()');
    this.#daemon = Boolean(value);
  }

  get pid(): number | undefined {
    return this.#self ? process.pid : this.#child?.pid;
  }

  /**
   * What the process runs: the target with its arguments. A subclass may override it, as in Python;
   * its class must then be exported by its module (the child imports it), and the child gets an
   * instance of it with the public fields this one had at start(). Called directly, it runs here.
   */
  run(): unknown {
    const { target, args = [], module } = this.#options;
    if (typeof target === 'function') return target(...args);
    return import(moduleURL(module ?? programModule())).then((m: Record<string, (...a: unknown[]) => unknown>) => m[target as string](...args));
  }

  /** In the child: an instance of this subclass, with the parent's fields, whose run() is the process. */
  static [RUN_AS_CHILD](this: new () => Process, fields: Record<string, unknown>): unknown {
    const self = Reflect.construct(Process, [], this) as Process; // Process's constructor only: the fields come from the parent
    Object.assign(self, fields);
    self.#self = true;
    self.#state = 'started';
    return self.run();
  }

  start(): void {
    if (this.#state !== 'initial') throw new Error('Cannot start a process twice');
    checkNotImporting('Process');
    const subclass = overridesRun(this.constructor) ? this.constructor.name : null;
    const target = subclass ?? this.#options.target as Target<unknown[]>;
    const targetArgs = subclass ? [this.#fields()] : this.#options.args ?? [];
    const spec = { ...makeSpec(target, targetArgs, this.name, this.#options.module), daemon: this.daemon };
    let typescript = true; // a child on another runtime reads what it is given
    if ((this.#options.runtime ?? runtime) === runtime) {
      const chosen = childModule(spec.module, bootstrap);
      if (chosen.module !== spec.module) spec.source = spec.module;
      ({ module: spec.module, typescript } = chosen);
    }
    const [bin, args] = childCommand(builtin('node:url').fileURLToPath(bootstrap), this.#options.runtime, typescript);
    const env = { ...process.env, ...childEnv(this.#options.runtime) };
    // A spare runs on this runtime only: one on another was booted with another's flags.
    const warm = startMethodOr(this.#options.startMethod) === 'warm' && (this.#options.runtime ?? runtime) === runtime;
    const spare = warm ? takeProcess(bin, args, env, spec) : null;
    const handOver = spare ? { env: {}, remove() {} } : specEnv(spec);
    const child = spare ?? builtin('node:child_process').spawn(bin, args, { stdio: 'inherit', env: { ...env, ...handOver.env } });
    if (spare && !this.daemon) child.ref();
    this.#child = child;
    this.#state = 'started';
    active.add(this);
    endDaemonsOnExit();
    if (!waitedForAtExit) { waitedForAtExit = true; finishBeforeExit(() => nonDaemonsEnded(active)); }
    if (this.daemon) child.unref();
    this.#exited = new Promise((resolve) => {
      const done = (code: number | null, signal: NodeJS.Signals | null) => {
        handOver.remove();
        this.exitCode = signal ? -(builtin('node:os').constants.signals[signal] ?? 1) : code ?? 1;
        this.#state = 'exited';
        active.delete(this);
        resolve();
      };
      child.once('exit', done);
      child.once('error', (e) => { console.error(`${this.name}: ${e.message}`); done(1, null); });
    });
  }

  /** Waits until the process ends, or `timeout` seconds pass; check exitCode to tell which. */
  async join(timeout?: number | null): Promise<void> {
    if (this.#state === 'initial') throw new Error('Cannot join a process that was not started');
    // A daemon does not keep the program alive, but someone waiting for it does.
    if (this.daemon) this.#child!.ref();
    try { return await joinWithin(this.#exited!, timeout); } finally { if (this.daemon) this.#child!.unref(); }
  }

  isAlive(): boolean {
    return this.#state === 'started';
  }

  /** The public fields a subclass's instance in the child starts with; refused here if one cannot be sent. */
  #fields(): Record<string, unknown> {
    const { exitCode: _, ...fields } = { ...this } as Record<string, unknown>;
    sendable(fields, `${this.constructor.name}'s fields`);
    return fields;
  }

  [ENDED](): Promise<void> {
    if (!this.#exited) throw new Error('Cannot wait for a process that was not started');
    return this.#exited;
  }

  /** SIGTERM: the child may clean up. */
  terminate(): void {
    this.#signal('SIGTERM');
  }

  /** SIGKILL: the child ends at once. */
  kill(): void {
    this.#signal('SIGKILL');
  }

  #signal(signal: NodeJS.Signals) {
    if (this.#state === 'initial') throw new Error('Cannot signal a process that was not started');
    if (this.#state === 'started') this.#child!.kill(signal);
  }

  toString() {
    return `<Process name='${this.name}' pid=${this.pid ?? 'none'} ${this.#state === 'exited' ? `exitcode=${this.exitCode}` : this.#state}>`;
  }
}

/** Boots the spare processes (warm.ts) that a start() of a target in the program's module would take. */
export async function warmUpProcesses(): Promise<void> {
  childModule(programModule(), bootstrap);
  await bundleMade(programModule()); // where one is being made (Node 20), the start after it will use it
  const { typescript } = childModule(programModule(), bootstrap);
  const [bin, args] = childCommand(builtin('node:url').fileURLToPath(bootstrap), runtime, typescript);
  prepareProcesses(bin, args, { ...process.env, ...childEnv() });
}

function overridesRun(cls: unknown): boolean {
  return typeof cls === 'function' && cls !== Process && (cls as typeof Process).prototype.run !== Process.prototype.run;
}

// A child process waits for its non-daemon children before it exits, as CPython's does at exit.
// (The main program needs no hook: their handles keep its event loop alive.)
let waitedForAtExit = false;

let hooked = false;

// Daemon children do not outlive their parent, as in Python. Hooked at the first start, not at
// import: on Deno, touching `process` costs every child some 12 ms (platform/runtime.ts: takeEnv).
function endDaemonsOnExit() {
  if (hooked) return;
  hooked = true;
  process.once('exit', () => {
    for (const p of active) if (p.daemon) p.terminate();
  });
}

/** The children started here that have not ended yet. */
export function activeChildren(): Process<unknown[]>[] {
  return [...active];
}

export interface ProcessInfo { name: string; pid: number }

export function currentProcess(): ProcessInfo {
  return { name: ownName('MainProcess'), pid: process.pid };
}

/** The process that started this one, as CPython's parent_process() gives it: it can be watched, not controlled. */
export class ParentProcess implements ProcessInfo {
  readonly name = 'MainProcess';
  readonly pid: number;
  constructor(pid: number) { this.pid = pid; }

  /** False once the parent has ended (killed, or exited). */
  isAlive(): boolean { return !processEnded(this.pid); }

  /** Resolves once the parent has ended, or after `timeout` seconds. */
  async join(timeout: number | null = null): Promise<void> {
    const end = timeout === null ? Infinity : Date.now() + Math.max(0, timeout) * 1000;
    while (this.isAlive() && Date.now() < end) await new Promise((r) => setTimeout(r, Math.min(PARENT_POLL_MS, Math.max(0, end - Date.now()))));
  }
}

// A parent is not ours to wait on (no exit event reaches a child), so its end is looked for.
const PARENT_POLL_MS = 50;

export function parentProcess(): ParentProcess | null {
  const pid = ownParent();
  return pid === null ? null : new ParentProcess(pid);
}
