import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const root = fileURLToPath(new URL('..', import.meta.url));
const fixtures = join(root, 'spec', 'fixtures');

// The bundle users get (dist/mdspec.js, which `npm test` builds first), not the sources.
function mdspec(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const inherited = { ...process.env };
    delete inherited.FORCE_COLOR; // the spec runner's own colour is no concern of these
    delete inherited.NO_COLOR;
    execFile(process.execPath, [join(root, 'dist', 'mdspec.js'), ...args], { cwd: root, env: { ...inherited, ...env }, timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}
const lastLine = (s: string) => s.trimEnd().split('\n').pop();
const alive = (pid: number) => existsSync(`/proc/${pid}`) && !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));

test('the seed passes on every runtime and ends with the summary line', async () => {
  const r = await mdspec(['spec/fixtures/seed.md']);
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.is(lastLine(r.stdout), '6 passed, 0 failed');
  assert.match(r.stdout, /spec\/fixtures\/seed\.md:6 Seed\s+pass\s+pass\s+pass\s+pass\s+pass\s+pass/);
});

test('a thread line with another pid fails, naming the binding and the doc line', async () => {
  const r = await mdspec(['--runtime', 'node', 'spec/fixtures/seed-stray-thread.md']);
  assert.is(r.code, 1);
  assert.match(r.stdout, /seed-stray-thread\.md:6 \[node\]/);
  assert.match(r.stdout, /output block at spec\/fixtures\/seed-stray-thread\.md:24: <main> was \d+ on line 1, \d+ on line 4/);
  assert.is(lastLine(r.stdout), '1 passed, 1 failed');
});

test('every feature passes, with skips reported and their reasons', async () => {
  const r = await mdspec(['spec/fixtures/features.md']);
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.match(lastLine(r.stdout)!, /^\d+ passed, 0 failed, 19 skipped$/);
  assert.match(r.stdout, /skipped, runtime=node,node24: the doc says it does not run on deno: spec\/fixtures\/features\.md:89 \(deno\)/);
  assert.match(r.stdout, /skipped, needs=mdspec-no-such-command: mdspec-no-such-command is not on PATH; install it to run this block: spec\/fixtures\/features\.md:\d+ \(node, node24, node26, deno, bun\)/);
  assert.match(r.stdout, /skipped, skip: spec\/fixtures\/features\.md:99 \(tsc, node, node24, node26, deno, bun\)/);
});

test('failures point at the Markdown: thrown errors, type errors, timeouts', async () => {
  const r = await mdspec(['--runtime', 'node,bun', 'spec/fixtures/failing.md']);
  assert.is(r.code, 1);
  assert.match(r.stdout, /spec\/fixtures\/failing\.md:7:7/, 'node stack mapped to the doc line');
  assert.match(r.stdout, /spec\/fixtures\/failing\.md:7:11/, 'bun stack mapped to the doc line');
  assert.match(r.stdout, /spec\/fixtures\/failing\.md:13:7 error TS2322/);
  assert.match(r.stdout, /timed out after 1500 ms/);
  assert.is(lastLine(r.stdout), '4 passed, 5 failed');
});

test('a block past its timeout is killed with its whole process tree', async () => {
  const r = await mdspec(['--runtime', 'node,deno', '--no-typecheck', 'spec/fixtures/failing.md']);
  const pids = [...r.stdout.matchAll(/grandchild (\d+)/g)].map((m) => Number(m[1]));
  assert.is(pids.length, 2);
  for (const pid of pids) assert.not.ok(alive(pid), `grandchild ${pid} outlived its block`);
});

test('a block marked alone runs while no other block runs', async () => {
  const r = await mdspec(['--runtime', 'node', '-j', '4', 'spec/fixtures/alone/busy.md', 'spec/fixtures/alone/timing.md', 'spec/fixtures/alone/busy.md']);
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /passed, 0 failed/);
});

test('no extracted files are left beside the docs', async () => {
  await mdspec(['--runtime', 'node', '--no-typecheck', 'spec/fixtures/features.md']);
  assert.not.ok(existsSync(join(fixtures, '.mdspec')));
});

test('bad docs and bad paths give one line with file:line and exit 2', async () => {
  const cases: [string, RegExp][] = [
    ['bad-unterminated.md', /^spec\/fixtures\/bad-unterminated\.md:3: unterminated ``` fence/],
    ['bad-orphan-output.md', /^spec\/fixtures\/bad-orphan-output\.md:3: output block has no ts or js block/],
    ['bad-attribute.md', /^spec\/fixtures\/bad-attribute\.md:3: unknown attribute "retry=3"/],
    ['bad-file-twice.md', /^spec\/fixtures\/bad-file-twice\.md:7: file=a\.ts is already defined on line 3/],
    ['bad-empty.md', /^spec\/fixtures\/bad-empty\.md:1: no ts or js blocks/],
    ['missing.md', /^mdspec: spec\/fixtures\/missing\.md: no such file or folder$/],
  ];
  for (const [file, message] of cases) {
    const r = await mdspec([`spec/fixtures/${file}`]);
    assert.is(r.code, 2, file);
    assert.is(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr.trim(), message);
    assert.not.match(r.stderr, /\n\s+at /, 'no stack trace');
  }
});

test('bad options say what to use', async () => {
  for (const [args, message] of [[['--runtime', 'python'], /unknown runtime "python"/], [['--reporter', 'xml'], /unknown reporter "xml"/], [['--bogus'], /unknown option --bogus/], [['-j', '0'], /positive whole number/]] as const) {
    const r = await mdspec([...args, 'spec/fixtures/seed.md']);
    assert.is(r.code, 2);
    assert.match(r.stderr, message);
  }
});

test('a runtime that is not installed is reported, never dropped', async () => {
  const r = await mdspec(['--runtime', 'node,bun', '--no-typecheck', 'spec/fixtures/seed.md'], { MDSPEC_BUN: '/nonexistent/bun' });
  assert.is(r.code, 0);
  assert.match(r.stdout, /bun: not run: \/nonexistent\/bun --version failed/);
  assert.is(lastLine(r.stdout), '1 passed, 0 failed, 1 skipped');
});

test('tap, junit and json reporters; the summary goes to stderr', async () => {
  const args = ['--runtime', 'node', 'spec/fixtures/seed-stray-thread.md'];
  const tap = await mdspec(['--reporter', 'tap', ...args]);
  assert.match(tap.stdout, /^TAP version 13\n1\.\.2\nok 1 - .*\[tsc\]\nnot ok 2 - /);
  assert.is(lastLine(tap.stderr), '1 passed, 1 failed');
  const junit = await mdspec(['--reporter', 'junit', ...args]);
  assert.match(junit.stdout, /<testsuite name="spec\/fixtures\/seed-stray-thread\.md" tests="2" failures="1" skipped="0">/);
  assert.match(junit.stdout, /<failure message="stdout does not match[^"]*&lt;main&gt; was/);
  const json = JSON.parse((await mdspec(['--reporter', 'json', ...args])).stdout);
  assert.is(json.passed, 1);
  assert.is(json.failed, 1);
  assert.is(json.results[1].line, 6);
});

test('a js block runs as an ES module, and tsc says it does not check it', async () => {
  const r = await mdspec(['--runtime', 'node,bun', '--filter', 'js block', 'spec/fixtures/options.md']);
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /options\.md:17 A js block\s+skip\s+pass\s+pass/);
  assert.match(r.stdout, /skipped, a js block is not type-checked: spec\/fixtures\/options\.md:17 \(tsc\)/);
  assert.is(lastLine(r.stdout), '2 passed, 0 failed, 1 skipped');
});

test('--filter picks blocks by heading or by file:line, and says so when none match', async () => {
  const byHeading = await mdspec(['--runtime', 'node', '--no-typecheck', '--filter', 'SUMS', 'spec/fixtures/options.md']);
  assert.is(lastLine(byHeading.stdout), '1 passed, 0 failed');
  const byLine = await mdspec(['--runtime', 'node', '--no-typecheck', '--filter', 'options.md:17', '--filter', 'options.md:6', 'spec/fixtures/options.md']);
  assert.is(lastLine(byLine.stdout), '2 passed, 0 failed');
  const none = await mdspec(['--filter', 'no such claim', 'spec/fixtures/options.md']);
  assert.is(none.code, 2);
  assert.is(none.stderr.trim(), `mdspec: no block's heading or file:line holds "no such claim"`);
});

test('--bail starts nothing after a failure; the diff says which side is expected', async () => {
  const r = await mdspec(['--runtime', 'node', '--no-typecheck', '-j', '1', '--bail', 'spec/fixtures/options.md']);
  assert.is(r.code, 1);
  assert.match(r.stdout, /- expected, from spec\/fixtures\/options\.md:31\n\s+\+ actual, what the block printed\n\s+\+ three\n\s+- four/);
  assert.match(r.stdout, /skipped, not run: --bail stopped the run at a failure: spec\/fixtures\/options\.md:37 \(node\)/);
  assert.is(lastLine(r.stdout), '2 passed, 1 failed, 1 skipped');
});

test('--version, progress a line per doc off a terminal, and colour by NO_COLOR and FORCE_COLOR', async () => {
  const version = await mdspec(['--version']);
  assert.is(version.stdout.trim(), JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version);
  const args = ['--runtime', 'node', '--no-typecheck', '--filter', 'sums', 'spec/fixtures/options.md', 'spec/fixtures/seed.md'];
  const plain = await mdspec(args, { NO_COLOR: '1' });
  assert.match(plain.stderr, /^spec\/fixtures\/options\.md: 1 passed, 0 failed \(\d+\.\d s\)$/m);
  assert.not.match(plain.stdout, /\x1b\[/);
  const forced = await mdspec(args, { FORCE_COLOR: '1', NO_COLOR: '1' });
  assert.match(forced.stdout, /\x1b\[32mpass/);
});

test('in a project without tsx, a Node that cannot strip types runs js blocks and skips ts ones, saying why', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mdspec-no-tsx-'));
  try {
    writeFileSync(join(dir, 'package.json'), '{ "name": "plain", "type": "module" }');
    writeFileSync(join(dir, 'doc.md'), '# Doc\n\n```ts\nconsole.log(1 as number);\n```\n\n```js\nconsole.log(2);\n```\n\n```output\n2\n```\n');
    const r = await new Promise<{ stdout: string }>((resolve) => {
      execFile(process.execPath, [join(root, 'dist', 'mdspec.js'), '--runtime', 'node', '--no-typecheck', 'doc.md'], { cwd: dir, env: { ...process.env, NO_COLOR: '1', MDSPEC_NODE: process.execPath } }, (_e, stdout) => resolve({ stdout }));
    });
    const strips = Boolean((process.features as { typescript?: unknown }).typescript);
    if (strips) assert.is(lastLine(r.stdout), '2 passed, 0 failed', r.stdout);
    else {
      assert.match(r.stdout, new RegExp(`skipped, Node ${process.versions.node} reads TypeScript only through tsx: npm install -D tsx: doc\\.md:4 \\(node\\)`));
      assert.is(lastLine(r.stdout), '1 passed, 0 failed, 1 skipped');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
