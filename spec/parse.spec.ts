import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DocError, parseDoc } from '../scripts/mdspec/parse.ts';

const parse = (source: string) => parseDoc('doc.md', source);
const fails = (source: string, line: number, words: RegExp) => {
  try { parse(source); } catch (e) {
    assert.instance(e, DocError);
    assert.is((e as DocError).line, line);
    assert.match((e as DocError).message, words);
    return;
  }
  assert.unreachable('the doc should not parse');
};

test('a ts block records its code, first code line and nearest heading', () => {
  const doc = parse('# Top\n\n## Threads\n\n```ts\nconst a = 1;\nconsole.log(a);\n```\n');
  assert.is(doc.blocks.length, 1);
  assert.is(doc.blocks[0].code, 'const a = 1;\nconsole.log(a);');
  assert.is(doc.blocks[0].line, 6);
  assert.is(doc.blocks[0].heading, 'Threads');
});

test('typescript is a ts block, javascript and mjs are js blocks; other languages are prose', () => {
  const doc = parse('```typescript\n1\n```\n\n```js\n2\n```\n\n```sh\n3\n```\n\n```mjs\n4\n```\n\n```json\n5\n```\n');
  assert.equal(doc.blocks.map((b) => [b.lang, b.code]), [['ts', '1'], ['js', '2'], ['js', '4']]);
});

test('every attribute is read', () => {
  const doc = parse([
    '```ts skip', 'a', '```', '```ts no-run', 'b', '```', '```ts fails alone', 'c', '```',
    '```ts runtime=deno,bun', 'd', '```', '```ts timeout=2500 repeat=3', 'e', '```', '```ts file=worker.ts', 'f', '```',
  ].join('\n'));
  const [skip, noRun, fails, rt, tr, file] = doc.blocks;
  assert.ok(skip.skip && !skip.noRun);
  assert.ok(noRun.noRun && !noRun.skip);
  assert.ok(fails.fails && fails.alone && !skip.alone);
  assert.equal(rt.runtimes, ['deno', 'bun']);
  assert.is(tr.timeout, 2500);
  assert.is(tr.repeat, 3);
  assert.is(file.file, 'worker.ts');
  assert.is(skip.timeout, 10_000);
  assert.is(skip.repeat, 1);
  assert.is(skip.runtimes, null);
});

test('output blocks attach to the ts block before them, with their flags', () => {
  const doc = parse([
    '```ts', 'x', '```', 'prose', '```output', 'a', 'b', '```',
    '```output stderr unordered distinct runtime=bun', 'e', '```',
  ].join('\n'));
  const [out, err] = doc.blocks[0].expected;
  assert.equal(out.lines, ['a', 'b']);
  assert.is(out.stream, 'stdout');
  assert.is(out.line, 6);
  assert.ok(err.stream === 'stderr' && err.unordered && err.distinct);
  assert.equal(err.runtimes, ['bun']);
});

test('tilde fences, longer fences, lists and blockquotes all parse', () => {
  const doc = parse([
    '~~~ts', 'tilde', '~~~',
    '````ts', '```', 'inner', '```', '````',
    '- item', '', '  ```ts', '  listed', '  ```',
    '', '> ```ts', '> quoted', '> ```',
  ].join('\n'));
  assert.equal(doc.blocks.map((b) => b.code), ['tilde', '```\ninner\n```', 'listed', 'quoted']);
  assert.equal(doc.blocks.map((b) => b.line), [2, 5, 12, 16]);
});

test('CRLF files and non-ASCII text keep their lines', () => {
  const doc = parse('# 线程与进程\r\n\r\n```ts\r\nconsole.log("全局变量");\r\n```\r\n\r\n```output\r\n全局变量\r\n```\r\n');
  assert.is(doc.blocks[0].heading, '线程与进程');
  assert.is(doc.blocks[0].code, 'console.log("全局变量");');
  assert.is(doc.blocks[0].line, 4);
  assert.equal(doc.blocks[0].expected[0].lines, ['全局变量']);
});

test('bad docs give one error with the line', () => {
  fails('# x\n\n```ts\nconsole.log(1)\n', 3, /unterminated/);
  fails('> ```ts\n> open\n\nafter', 1, /unterminated/);
  fails('```output\n1\n```\n', 1, /no ts or js block before it/);
  fails('```ts retry=2\n1\n```\n', 1, /unknown attribute "retry=2"/);
  fails('```ts\n1\n```\n```output sorted\n1\n```\n', 4, /unknown output attribute "sorted"/);
  fails('```ts file=a.ts\n1\n```\n\n```ts file=a.ts\n2\n```\n', 5, /already defined on line 1/);
  fails('```ts file=a.ts\n1\n```\n```output\n1\n```\n', 4, /not run/);
  fails('```ts runtime=python\n1\n```\n', 1, /unknown runtime "python"/);
  fails('```ts timeout=soon\n1\n```\n', 1, /timeout=soon is not a positive/);
  fails('```ts repeat=0\n1\n```\n', 1, /repeat=0 is not a positive/);
  fails('```ts file=../x.js\n1\n```\n', 1, /not a module name/);
  fails('# Words only\n', 1, /no ts or js blocks/);
});

test.run();
