import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { diff, match, normalize } from '../scripts/mdspec/match.ts';

const ok = (lines: string[], actual: string, opts = {}) => assert.ok(match({ lines, ...opts }, actual).ok, `${lines} should match ${JSON.stringify(actual)}`);
const no = (lines: string[], actual: string, opts = {}) => assert.not.ok(match({ lines, ...opts }, actual).ok, `${lines} should not match ${JSON.stringify(actual)}`);
const reason = (lines: string[], actual: string, opts = {}) => {
  const m = match({ lines, ...opts }, actual);
  assert.not.ok(m.ok);
  return m.ok ? '' : m.reason;
};

test('trailing whitespace and trailing blank lines are ignored', () => {
  ok(['a', 'b'], 'a   \nb\t\n\n\n');
  ok(['a', ''], 'a');
  no(['a', 'b'], 'a\n\nb');
  assert.equal(normalize('x \r\ny\n\n'), ['x', 'y']);
});

test('a line of ... matches any number of lines, none included', () => {
  ok(['start', '...', 'end'], 'start\nend');
  ok(['start', '...', 'end'], 'start\n1\n2\n3\nend');
  ok(['...'], '');
  no(['start', '...', 'end'], 'start\n1\n2');
});

test('... inside a line matches any text', () => {
  ok(['took ... ms'], 'took 12.5 ms');
  ok(['took ... ms'], 'took  ms');
  no(['took ... ms'], 'took 12 s');
});

test('<name> matches one run of non-space characters and binds it', () => {
  const m = match({ lines: ['pid <p> of <q>'] }, 'pid 12 of 34');
  assert.equal(m, { ok: true, bindings: { p: '12', q: '34' } });
  no(['pid <p>'], 'pid 12 34');
  no(['pid <p>'], 'pid ');
});

test('a name binds the same text everywhere; <_> binds nothing', () => {
  ok(['Main: <main>', 'thread <main>'], 'Main: 7\nthread 7');
  assert.is(reason(['Main: <main>', 'x', 'thread <main>'], 'Main: 7\nx\nthread 8'), '<main> was 7 on line 1, 8 on line 3');
  ok(['<_> <_>'], 'a b');
  ok(['<a> <a>'], 'b b');
  no(['<a> <a>'], 'b c');
});

test('unordered: lines may come in any order, but each once', () => {
  ok(['a', 'b', 'c'], 'c\na\nb', { unordered: true });
  no(['a', 'b', 'c'], 'c\na\nb');
  no(['a', 'a'], 'a', { unordered: true });
  no(['a'], 'a\na', { unordered: true });
  ok(['a', '...'], 'z\na\ny', { unordered: true });
});

test('distinct: different names bind different texts', () => {
  ok(['p <a>', 'p <b>'], 'p 1\np 1');
  no(['p <a>', 'p <b>'], 'p 1\np 1', { distinct: true });
  assert.match(reason(['p <a>', 'p <b>'], 'p 1\np 1', { distinct: true }), /<a> and <b> were both 1/);
});

const seed = ['Main: <main>', ...Array(5).fill('thread <main>'), 'process <p1>', 'process <p2>', 'process <p3>', 'process <p4>', 'process <p5>', '5', '0'];
const run = ['Main: 10', 'thread 10', 'process 21', 'thread 10', 'process 22', 'thread 10', 'thread 10', 'process 23', 'process 24', 'thread 10', 'process 25', '5', '0'];

test('the seed: threads share the main pid, processes each have their own', () => {
  ok(seed, run.join('\n'), { unordered: true, distinct: true });
  const strayThread = run.map((l, i) => (i === 3 ? 'thread 11' : l));
  assert.is(reason(seed, strayThread.join('\n'), { unordered: true, distinct: true }), '<main> was 10 on line 1, 11 on line 4');
  const sharedProcess = run.map((l, i) => (i === 4 ? 'process 21' : l));
  assert.match(reason(seed, sharedProcess.join('\n'), { unordered: true, distinct: true }), /were both 21/);
  const processWithMainPid = run.map((l, i) => (i === 4 ? 'process 10' : l));
  assert.match(reason(seed, processWithMainPid.join('\n'), { unordered: true, distinct: true }), /were both 10/);
});

test('diff marks missing expected lines with - and extra output with +', () => {
  assert.equal(diff(['a', 'b', 'c'], 'a\nx\nc'), ['  a', '+ x', '- b', '  c']);
  assert.equal(diff(['n <x>'], 'n 5'), ['  n 5']);
});

const line = fc.stringMatching(/^[a-z0-9 :.-]{0,12}$/).map((s) => s.trimEnd()).filter((s) => s !== '...' && !s.includes('...'));
const lines = fc.array(line, { maxLength: 12 });

test('property: any output matches itself, ordered or not', () => {
  fc.assert(fc.property(lines, (ls) => {
    const text = ls.join('\n');
    return match({ lines: ls }, text).ok && match({ lines: ls, unordered: true }, text).ok;
  }));
});

test('property: shuffled lines pass unordered and fail ordered unless the order is unchanged', () => {
  const distinctLines = fc.uniqueArray(line.filter((s) => s !== ''), { minLength: 2, maxLength: 10 });
  fc.assert(fc.property(distinctLines, fc.infiniteStream(fc.nat()), (ls, seeds) => {
    const shuffled = [...ls];
    const it = seeds[Symbol.iterator]();
    for (let i = shuffled.length - 1; i > 0; i--) {
      const j = it.next().value % (i + 1);
      [shuffled[i], shuffled[j]] = [shuffled[j], shuffled[i]];
    }
    const same = shuffled.every((l, i) => l === ls[i]);
    return match({ lines: ls, unordered: true }, shuffled.join('\n')).ok && match({ lines: ls }, shuffled.join('\n')).ok === same;
  }));
});

test('property: renaming a binding consistently changes nothing', () => {
  const name = fc.stringMatching(/^[a-z][a-z0-9]{0,6}$/);
  fc.assert(fc.property(name, name, fc.array(fc.stringMatching(/^[0-9]{1,4}$/), { minLength: 1, maxLength: 6 }), fc.boolean(), (a, b, ids, broken) => {
    const actual = ids.map((id) => `id ${broken ? id : ids[0]}`).join('\n');
    const as = ids.map(() => `id <${a}>`);
    const bs = ids.map(() => `id <${b}>`);
    return match({ lines: as }, actual).ok === match({ lines: bs }, actual).ok;
  }));
});

test.run();
