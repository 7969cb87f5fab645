// `mpkit worker`: a worker host for cluster pools, started on each machine that should do work.
import { builtin } from '../platform/builtins.ts';
import { serveWorker } from './worker.ts';
import { readTypeScript } from '../platform/launch.ts';

const USAGE = `Usage: mpkit worker --url redis://host:port --module ./tasks.ts [--processes N] [--pool NAME] [--namespace NS] [--lease SECONDS]

Runs N processes (default: the CPU count) that take tasks of the cluster pool NAME from the Redis
at --url and run the module's exported functions. Ctrl-C (SIGINT) or SIGTERM finishes the tasks
under way and ends; a host killed outright has its tasks taken over by others after the lease.`;

// Loaded when the command runs: the bundle every child imports holds this file too.
const red = (s: string) => builtin('node:util').styleText?.('red', s) ?? s;

function fail(message: string): never {
  console.error(`${red('mpkit:')} ${message}\n\n${USAGE}`);
  process.exit(2);
}

export async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h') { console.log(USAGE); return; }
  if (command !== 'worker') fail(`unknown command "${command}": the command is "worker"`);
  let values;
  try {
    ({ values } = builtin('node:util').parseArgs({
      args: rest, strict: true,
      options: {
        url: { type: 'string' }, module: { type: 'string' }, processes: { type: 'string' },
        pool: { type: 'string' }, namespace: { type: 'string' }, lease: { type: 'string' }, help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (e) {
    fail((e as Error).message);
  }
  if (values.help) { console.log(USAGE); return; }
  if (!values.url) fail('--url is needed: the address of the Redis the pool uses');
  if (!values.module) fail('--module is needed: the module that exports the task functions');
  const number = (flag: string, v: string | undefined) => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n)) fail(`--${flag} is a number, not "${v}"`);
    return n;
  };
  let host;
  try {
    await readTypeScript(values.module);
    host = await serveWorker({
      url: values.url, module: values.module, pool: values.pool, namespace: values.namespace,
      processes: number('processes', values.processes), lease: number('lease', values.lease),
    });
  } catch (e) {
    console.error(`${red('mpkit worker:')} ${(e as Error).message}`);
    process.exit(1);
  }
  console.error(`mpkit worker ${host.consumer}: ${host.processes} processes serving pool "${host.pool}" at ${values.url}`);
  let stopping = false;
  const stop = () => {
    if (stopping) process.exit(130); // a second Ctrl-C does not wait
    stopping = true;
    console.error(`mpkit worker ${host.consumer}: finishing the tasks under way (Ctrl-C again to end now)`);
    void host.stop().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  await host.served.catch((e) => {
    console.error(`${red('mpkit worker:')} ${(e as Error).message}`);
    process.exit(1);
  });
}
