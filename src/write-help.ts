/**
 * Run by `npm run build` after tsc: stores the full program's top-level help
 * as dist/help.txt, which cli-fast.ts prints for `autoscale --help` without
 * loading commander. One text, made from one program.
 */
import { writeFileSync } from 'node:fs';
import { topLevelHelp } from './cli.js';
import { HELP_FILE } from './cli-fast.js';

writeFileSync(HELP_FILE, topLevelHelp());
