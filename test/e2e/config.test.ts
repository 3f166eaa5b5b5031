import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DATABASE_URL_KEY, DEFAULTS, MAX_CONFIG_BYTES, parseConfigFile, readConfigFile, resolveConfig } from '../../src/settings/config.js';
import { chooseDatabaseUrl } from '../../src/store/location.js';
import { freePort, runCli } from '../helpers.js';
import { AutoscaleError } from '../../src/errors.js';

const runMain = (argv: string[], env: NodeJS.ProcessEnv = {}) => runCli(argv, env);

test('defaults are the documented ones', () => {
  const c = resolveConfig({});
  assert.equal(c.min, 1);
  assert.equal(c.max, 5);
  assert.equal(c.scaleUp, 35);
  assert.equal(c.scaleDown, 15);
  assert.equal(c.interval, 3);
  assert.equal(c.port, 8000);
  assert.equal(c.basePort, 5000);
  assert.equal(c.host, '127.0.0.1');
  assert.equal(c.cooldown, DEFAULTS.cooldown);
});

test('flags win over the file, the file over defaults', () => {
  const file = parseConfigFile('{"max": 4, "scale-up": 50, "cooldown": 5}', 'f.json');
  const c = resolveConfig({ max: '3' }, file);
  assert.equal(c.max, 3);
  assert.equal(c.scaleUp, 50);
  assert.equal(c.cooldown, 5);
  assert.equal(c.min, 1);
  assert.equal(resolveConfig({}, parseConfigFile('{"scaleDown": 10, "basePort": 6000}', 'f.json')).basePort, 6000);
});

test('bad settings are usage errors (exit 2) that say what was expected and received', () => {
  const rows: Array<[Record<string, unknown>, Record<string, unknown>, RegExp]> = [
    [{ min: '4', max: '2' }, {}, /--min \(4\) must be <= --max \(2\)/],
    [{ scaleDown: '50', scaleUp: '40' }, {}, /--scale-down \(50\) must be below --scale-up \(40\)/],
    [{ min: 'abc' }, {}, /--min must be a number \(received "abc"\)/],
    [{ min: '1.5' }, {}, /--min must be a whole number/],
    [{ interval: '0' }, {}, /--interval must be between/],
    [{ port: '70000' }, {}, /--port must be between 0 and 65535 \(received 70000\)/],
    [{ port: '5001' }, {}, /falls inside the workers' port range 5000–5004/],
    // Workers never get privileged ports (as root they would bind, as a user they would fail).
    [{ basePort: '80' }, {}, /--base-port must be between 1024 and 65535 \(received 80\)/],
    [{}, { max: 'lots' }, /"max" in the config file must be a number \(received "lots"\)/],
    [{}, { host: '' }, /must be a non-empty string/],
    // Scale to zero holds requests in the L7 proxy; an L4 hand-off has none to hold.
    [{ min: '0', balancer: 'l4' }, {}, /--min 0 \(scale to zero\) needs the L7 balancer/],
  ];
  for (const [flags, file, message] of rows) {
    assert.throws(
      () => resolveConfig(flags, file),
      (err: unknown) => err instanceof AutoscaleError && err.exitCode === 2 && message.test(err.message),
      JSON.stringify({ flags, file }),
    );
  }
});

test('config file: unknown keys, bad JSON, missing file are config errors', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'autoscale-config-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  assert.throws(() => parseConfigFile('{"maxx": 3}', 'c.json'), { code: 'AS_ERR_CONFIG', message: /unknown key "maxx"/ });
  assert.throws(() => parseConfigFile('{"max": 3', 'c.json'), { code: 'AS_ERR_CONFIG', message: /not valid JSON/ });
  assert.throws(() => parseConfigFile('[1]', 'c.json'), { code: 'AS_ERR_CONFIG', message: /must hold a JSON object/ });
  assert.throws(() => parseConfigFile('{"max": 3, "max": 4, "scaleUp": 1, "scale-up": 2}', 'c.json'), { code: 'AS_ERR_CONFIG', message: /given twice/ });
  assert.throws(() => readConfigFile(join(dir, 'missing.json')), { code: 'AS_ERR_CONFIG', message: /cannot read config file .*ENOENT/ });
  const file = join(dir, 'ok.json');
  writeFileSync(file, JSON.stringify({ min: 2, max: 3 }));
  assert.deepEqual(readConfigFile(file), { min: 2, max: 3 });
});

test('config file: "database-url" is a start setting like the others; flag > file > DATABASE_URL; relative sqlite paths are relative to the file', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'autoscale-config-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  assert.deepEqual(parseConfigFile('{"database-url": "sqlite:v.db", "max": 3}', 'c.json'), { [DATABASE_URL_KEY]: 'sqlite:v.db', max: 3 });
  assert.deepEqual(parseConfigFile('{"databaseUrl": "postgres://h/db"}', 'c.json'), { [DATABASE_URL_KEY]: 'postgres://h/db' });
  assert.throws(() => parseConfigFile('{"database-url": 5}', 'c.json'), { code: 'AS_ERR_CONFIG', message: /"database-url" in the config file c\.json must be a non-empty string \(received 5\)/ });
  assert.throws(() => parseConfigFile('{"database-url": "sqlite:a", "databaseUrl": "sqlite:b"}', 'c.json'), { code: 'AS_ERR_CONFIG', message: /given twice/ });
  // The policy ignores it: the same file still works for simulate/export/replay, and no URL (password) reaches the 'started' settings.
  assert.equal('databaseUrl' in resolveConfig({}, parseConfigFile('{"database-url": "sqlite:v.db"}', 'c.json')), false);

  const sub = join(dir, 'sub');
  mkdirSync(sub);
  const cfg = join(sub, 'lab.json');
  assert.deepEqual(chooseDatabaseUrl(undefined, {}, '/elsewhere', { url: 'sqlite:v.db', file: cfg }), { kind: 'sqlite', file: join(sub, 'v.db') });
  assert.equal(chooseDatabaseUrl(undefined, { DATABASE_URL: 'sqlite:/tmp/env.db' }, '/', { url: 'postgres://h/db', file: cfg })?.kind, 'postgres', 'the file wins over DATABASE_URL');
  assert.equal(chooseDatabaseUrl('sqlite:/tmp/flag.db', {}, '/', { url: 'postgres://h/db', file: cfg })?.kind, 'sqlite', 'the flag wins over the file');

  // Through the CLI: the file's URL is the one `start` uses (an unreachable server: exit 1 before any worker, password hidden).
  const port = await freePort();
  writeFileSync(cfg, JSON.stringify({ 'database-url': `postgres://u:s3cret@127.0.0.1:${port}/db`, 'base-port': await freePort(), port: 0 }));
  const runDir = join(dir, 'run');
  const viaFile = await runMain(['start', '--config', cfg, '--run-dir', runDir, '--no-dashboard'], { DATABASE_URL: 'nope' });
  assert.equal(viaFile.code, 1, viaFile.stderr);
  assert.match(viaFile.stderr, /^error: cannot use the visits database: PostgreSQL postgres:\/\/u:\*\*\*@127\.0\.0\.1:\d+\/db: .*ECONNREFUSED/m);
  assert.doesNotMatch(viaFile.stderr, /s3cret/);
  const flagWins = await runMain(['start', '--config', cfg, '--database-url', 'mysql://h/db', '--run-dir', runDir, '--no-dashboard']);
  assert.equal(flagWins.code, 2);
  assert.match(flagWins.stderr, /^error: --database-url: expected a database URL/m);
  writeFileSync(cfg, JSON.stringify({ 'database-url': 'visits.db' }));
  const bad = await runMain(['start', '--config', cfg, '--run-dir', runDir, '--no-dashboard']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^error: "database-url" in the config file .*lab\.json: expected a database URL/m);
});

test('config file input: a FIFO and /dev/zero are refused at once (regular files only), a huge file is refused, null is named, a UTF-8 BOM is accepted', { timeout: 10_000 }, (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'autoscale-config-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const fifo = join(dir, 'settings.fifo');
  execFileSync('mkfifo', [fifo]);
  // Used to block forever in open(); now refused without waiting for a writer.
  assert.throws(() => readConfigFile(fifo), { code: 'AS_ERR_CONFIG', message: /settings\.fifo is a FIFO; give a regular JSON file/ });
  if (existsSync('/dev/zero')) assert.throws(() => readConfigFile('/dev/zero'), { code: 'AS_ERR_CONFIG', message: /\/dev\/zero is a device; give a regular JSON file/ });
  assert.throws(() => readConfigFile(dir), { code: 'AS_ERR_CONFIG', message: /is a directory/ });
  const big = join(dir, 'big.json');
  writeFileSync(big, `{"max": 3, "x": "${'a'.repeat(MAX_CONFIG_BYTES)}"}`);
  assert.throws(() => readConfigFile(big), { code: 'AS_ERR_CONFIG', message: /big\.json is larger than 1 MiB/ });
  assert.throws(() => parseConfigFile('null', 'c.json'), { code: 'AS_ERR_CONFIG', message: /^config file c\.json must hold a JSON object \(received null\)$/ });
  assert.throws(() => parseConfigFile('"max"', 'c.json'), { message: /\(received a string\)$/ });
  assert.throws(() => parseConfigFile('[]', 'c.json'), { message: /\(received an array\)$/ });
  const bom = join(dir, 'bom.json');
  writeFileSync(bom, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"max": 4}')]));
  assert.deepEqual(readConfigFile(bom), { max: 4 });
});
