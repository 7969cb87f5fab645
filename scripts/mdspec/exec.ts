// Runs one extracted block in a fresh process. Each run leads its own process group, so a timeout,
// or the end of the run, takes down everything the block started, not just the runtime itself.
import { spawn } from 'node:child_process';

export interface RunResult {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  ms: number;
}

const groups = new Set<number>();

function killGroup(pid: number) {
  try { process.kill(-pid, 'SIGKILL'); } catch { /* already gone */ }
}

/** Kills every process group still running; mdspec calls it when it is interrupted. */
export function killAll() {
  for (const pid of groups) killGroup(pid);
}

// Output is compared as text, so colour is off; Deno reads any FORCE_COLOR, even 0, as "on".
function plainEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', ...extra };
  delete env.FORCE_COLOR;
  return env;
}

export function run(bin: string, args: string[], opts: { cwd: string; timeout: number; env?: Record<string, string> }): Promise<RunResult> {
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn(bin, args, {
      cwd: opts.cwd,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: plainEnv(opts.env),
    });
    const out: Buffer[] = [], err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    let timedOut = false;
    let exited: { code: number | null; signal: string | null } | null = null;
    const pid = child.pid;
    if (pid) groups.add(pid);
    const timer = setTimeout(() => { timedOut = true; if (pid) killGroup(pid); }, opts.timeout);
    const finish = (e?: Error) => {
      clearTimeout(timer);
      clearTimeout(straggler);
      if (pid) groups.delete(pid);
      resolve({
        code: exited?.code ?? (e ? 127 : null),
        signal: exited?.signal ?? null,
        stdout: Buffer.concat(out).toString(),
        stderr: Buffer.concat(err).toString() + (e ? `${e.message}\n` : ''),
        timedOut,
        ms: performance.now() - started,
      });
    };
    let straggler: ReturnType<typeof setTimeout> | undefined;
    child.on('exit', (code, signal) => {
      exited = { code, signal };
      // Whatever the block left running dies with it; its pipes then close and 'close' follows.
      if (pid) killGroup(pid);
      straggler = setTimeout(() => { child.stdout.destroy(); child.stderr.destroy(); finish(); }, 2000);
    });
    child.on('close', () => finish());
    child.on('error', (e) => finish(e));
  });
}
