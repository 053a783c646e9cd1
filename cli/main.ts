#!/usr/bin/env node
/** The `normlab` executable (package bin): see program.ts for the commands. */
import { main } from './program.js';

const args = process.argv.slice(2);
process.exitCode = await main(args.length ? args : ['--help']);
