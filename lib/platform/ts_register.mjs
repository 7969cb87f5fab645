// `node --import <this file>`: registers ts_hooks.mjs, and source maps so a child's stack traces
// point into the TypeScript it was written in.
import { register } from 'node:module';

process.setSourceMapsEnabled(true);
register(new URL('./ts_hooks.mjs', import.meta.url));
