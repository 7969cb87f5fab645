// A program ends when its work is done: idle pools and managers keep nothing alive, and what a
// manager leaves on disk goes with the program, also when it is killed outright.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';

const program = (name: string) => new URL(`../fixtures/programs/${name}`, import.meta.url).pathname;

/** Runs a fixture program on this runtime, with a bound that only a hang reaches. */
function run(name: string, ...args: string[]) {
  const runtimeArgs = 'Deno' in globalThis ? ['run', '-A'] : [];
  const env: Record<string, string | undefined> = { ...process.env, NO_COLOR: '1' };
  delete env.FORCE_COLOR; // numbers printed plain
  return spawnSync(process.execPath, [...runtimeArgs, program(name), ...args], { encoding: 'utf8', timeout: 60_000, env });
}

const gone = async (check: () => boolean) => {
  for (let i = 0; i < 400 && !check(); i++) await new Promise((r) => setTimeout(r, 50)); // 20 s: only a hang reaches it
  return check();
};

test('a program that never closes its Pool or ThreadPool ends when its work does', () => {
  const r = run('idle_pool.mjs');
  assert.is(r.signal, null, 'not killed at the bound: it ended by itself');
  assert.is(r.status, 0, r.stderr);
  assert.is(r.stdout.trim(), '1 4 9 16');
});

test('a program that never shuts its manager down ends, and its socket folder goes with it', async () => {
  const r = run('idle_manager.mjs');
  assert.is(r.signal, null, 'not killed at the bound: it ended by itself');
  assert.is(r.status, 0, r.stderr);
  const [count, folder, pid] = r.stdout.trim().split(' ');
  assert.is(count, '2', r.stdout + r.stderr);
  assert.not.ok(existsSync(folder), `${folder} was left behind`);
  assert.ok(await gone(() => !existsSync(`/proc/${pid}`) || /\) Z /.test(statOf(pid))), 'the server ended too');
});

test("a program killed outright: its manager's server stops and removes the socket folder", async () => {
  const r = run('idle_manager.mjs', 'kill');
  assert.is(r.signal, 'SIGKILL');
  const [, folder, pid] = r.stdout.trim().split(' ');
  assert.ok(await gone(() => !existsSync(folder)), `${folder} was left behind`);
  assert.ok(await gone(() => !existsSync(`/proc/${pid}`)), 'the server ended');
});

test('segments are known to the tracker before they are returned: a program killed before its event loop turns leaves none', async () => {
  const segmentsOf = (pids: string[]) => readdirSync('/dev/shm').filter((n) => pids.some((pid) => n.startsWith(`mpkit_${pid}_`)));
  for (const how of ['child', 'queue']) {
    const r = run('killed_holding_segments.mjs', how);
    assert.is(r.signal, 'SIGKILL', r.stderr);
    const pids = r.stdout.trim().split(' ');
    if (how === 'queue') pids.pop(); // the queue's size, printed to use it
    assert.ok(await gone(() => segmentsOf(pids).length === 0), `${how}: left ${segmentsOf(pids).join(', ')}`);
  }
});

test('idle warm spares keep nothing alive, and end with their program, also one killed outright', async () => {
  for (const how of ['end', 'kill']) {
    const r = run('warm_spares.mjs', how);
    assert.is(r.signal, how === 'kill' ? 'SIGKILL' : null, r.stderr);
    const [pids, threads] = r.stdout.trim().split(' ');
    assert.ok(pids && Number(threads) === ('Deno' in globalThis ? 0 : 1), `spares were idle: ${r.stdout}${r.stderr}`); // Deno: no thread spares (warm.ts)
    for (const pid of pids.split(',')) assert.ok(await gone(() => !existsSync(`/proc/${pid}`) || /\) Z /.test(statOf(pid))), `${how}: spare ${pid} was left`);
  }
});

function statOf(pid: string): string {
  try { return spawnSync('cat', [`/proc/${pid}/stat`], { encoding: 'utf8' }).stdout; } catch { return ''; }
}

test.run();
