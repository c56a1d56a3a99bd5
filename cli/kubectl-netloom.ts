#!/usr/bin/env node
// The kubectl plugin: `kubectl netloom <command>` is `netloom ctl <command>`. kubectl runs the
// first `kubectl-netloom` on PATH, so installing is one link to this file (cli/README.md);
// Node resolves the link, sees the .ts file and runs it as netloom itself runs.
import { run } from './netloom.ts';

process.exitCode = await run(['ctl', ...process.argv.slice(2)]);
