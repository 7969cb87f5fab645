// Where a worker thread starts: switch on Node's compile cache (22.1+; the main thread gets it from
// NODE_COMPILE_CACHE, a worker does not), then run the bootstrap. Plain JavaScript, so it loads
// before anything reads TypeScript.
import * as module from 'node:module';

module.enableCompileCache?.();
await import('../bootstrap.ts');
