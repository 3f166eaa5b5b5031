#!/usr/bin/env node
// The only place that decides the process exit code. Everything else lives
// in compiled TypeScript under dist/ (built by `npm install` via `prepare`).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/cli.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write('error: autoscale is not built (dist/ is missing). Run `npm install` (or `npm run build`) in the project first.\n');
  process.exit(1);
}
// Set once the full program is loaded: only it can start a lab, so only then are there workers to stop.
let emergencyStop = () => 0;

// A crash of the daemon must not leave workers behind: kill them first, then say what happened.
// (Workers also exit by themselves when their IPC channel to us closes, e.g. on SIGKILL.)
function crash(err) {
  let labs = 0;
  try {
    labs = emergencyStop();
  } finally {
    // "workers were stopped" only where a lab (and so workers) existed: not from report, replay, load…
    process.stderr.write(`autoscale crashed: ${err && err.stack ? err.stack : err}\n${labs > 0 ? 'workers were stopped.\n' : ''}`);
    process.exit(1);
  }
}
process.on('uncaughtException', crash);
process.on('unhandledRejection', crash);
// A reader that went away (`autoscale runs | head -1`) is no crash: the output ends quietly. (`start` also stops its
// lab cleanly then, see commands/start.ts.) Any other stream error still is one.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err) => {
    if (err && err.code === 'EPIPE') return;
    crash(err);
  });
}

const argv = process.argv.slice(2);
const io = { stdout: process.stdout, stderr: process.stderr, env: process.env };
// --help and the plain control commands (status, scale…) first, without commander or any other command's modules.
const { runQuick } = await import(new URL('../dist/cli-fast.js', import.meta.url).href);
let code = await runQuick(argv, io);
if (code === null) {
  const cli = await import(entry.href);
  emergencyStop = cli.emergencyStop;
  code = await cli.main(argv, io);
}
process.exit(code);
