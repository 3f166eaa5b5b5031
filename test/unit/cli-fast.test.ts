/** The CLI's quick paths: what they take, and that they read an argv exactly as the full program does. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Command } from 'commander';
import { route } from '../../src/cli-fast.js';
import { registerControlCommands } from '../../src/cli.js';
import type { ControlRequest } from '../../src/control/protocol.js';

/** What the full program's control commands send for `argv`, or the commander error it raises. */
async function full(argv: string[]): Promise<{ request: ControlRequest; target: Record<string, unknown> } | 'error'> {
  const program = new Command('autoscale').exitOverride().configureOutput({ writeOut: () => {}, writeErr: () => {} });
  let sent: { request: ControlRequest; target: Record<string, unknown> } | undefined;
  registerControlCommands(program, async (request, target) => {
    sent = { request, target: Object.fromEntries(Object.entries(target).filter(([, v]) => v !== undefined)) };
  });
  program.commands.forEach((c) => c.exitOverride().configureOutput({ writeOut: () => {}, writeErr: () => {} }));
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch {
    return 'error';
  }
  return sent ?? 'error';
}

test('help: no argument (to stderr, exit 2) and --help / -h alone', () => {
  assert.deepEqual(route([]), { kind: 'help', toStderr: true });
  assert.deepEqual(route(['--help']), { kind: 'help', toStderr: false });
  assert.deepEqual(route(['-h']), { kind: 'help', toStderr: false });
  assert.equal(route(['--help', 'status']), null);
  assert.equal(route(['-V']), null);
});

test('every argv the quick path takes, the full program reads the same way', async () => {
  const taken = [
    ['status'],
    ['status', '--json'],
    ['status', '--lab', '8000'],
    ['status', '--lab=8000', '--json'],
    ['status', '--json', '--run-dir', '/tmp/x'],
    ['status', '--run-dir=/tmp/x y'],
    ['scale', '3'],
    ['scale', '0'],
    ['scale', '64'],
    ['scale', '--lab', 'run-1', '2'],
    ['scale', '2', '--run-dir', 'rel/dir'],
    ['pause'],
    ['resume', '--lab', '8001'],
    ['stop', '--run-dir', '/r'],
  ];
  for (const argv of taken) {
    const r = route(argv);
    assert.ok(r !== null && r.kind === 'control', `${argv.join(' ')} is a quick path`);
    assert.deepEqual({ request: r.request, target: r.target }, await full(argv), argv.join(' '));
  }
});

test('anything the full program must word or refuse is left to it', async () => {
  const left = [
    ['scale', '65'],
    ['scale', 'x'],
    ['scale', '-1'],
    ['scale'],
    ['scale', '2', '3'],
    ['status', 'extra'],
    ['status', '--bogus'],
    ['status', '--lab'],
    ['status', '--lab='],
    ['status', '--lab', '1', '--lab', '2'],
    ['status', '--json', '--json'],
    ['status', '--help'],
    ['pause', '--json'],
    ['refresh'],
    ['start'],
    ['report', '--json'],
    ['toString'],
    ['__proto__'],
  ];
  for (const argv of left) assert.equal(route(argv), null, argv.join(' '));
  // And the full program does refuse the ones that are errors (so the quick path hides no error).
  for (const argv of [['scale', '65'], ['scale', 'x'], ['status', 'extra'], ['status', '--bogus'], ['status', '--lab'], ['pause', '--json']]) {
    assert.equal(await full(argv), 'error', argv.join(' '));
  }
});
