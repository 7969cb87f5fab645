#!/usr/bin/env node
// The package's `mpkit` command (dist/cli.js): today, `mpkit worker` (cluster/cli.ts).
import { main } from './cluster/cli.ts';

await main(process.argv.slice(2));
