import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AutoscaleError } from '../../src/errors.js';
import { parseLoadOptions, type RawLoadOptions } from '../../src/loadgen/options.js';

test('defaults: the balancer URL, 20 threads, 60 s, closed loop, constant profile, 10 s timeout, main thread', () => {
  const c = parseLoadOptions(undefined, {});
  assert.equal(c.url.href, 'http://127.0.0.1:8000/');
  assert.equal(c.threads, 20);
  assert.equal(c.durationSec, 60);
  assert.equal(c.rate, null);
  assert.deepEqual(c.profile, { name: 'constant' });
  assert.equal(c.timeoutMs, 10_000);
  assert.equal(c.workers, 0);
  assert.equal(c.method, 'GET');
  assert.deepEqual(c.headers, []);
  assert.equal(c.json, false);
  assert.equal(c.out, null);
});

test('accepted forms: durations with units, headers, body implies POST, profile defaults from duration and peak', () => {
  const c = parseLoadOptions('http://127.0.0.1:5000/api?x=1', {
    threads: '50',
    duration: '2m',
    header: ['X-A: 1', 'accept:text/plain'],
    body: '{"a":1}',
    rate: '250.5',
    profile: 'spike',
  });
  assert.equal(c.durationSec, 120);
  assert.deepEqual(c.headers, ['X-A', '1', 'accept', 'text/plain']);
  assert.equal(c.method, 'POST');
  assert.equal(c.rate, 250.5);
  // spike: baseline a tenth of the peak rate, 10 s long, centred in the run
  assert.deepEqual(c.profile, { name: 'spike', base: 25.05, atSec: 55, lengthSec: 10 });
  assert.equal(parseLoadOptions(undefined, { duration: '500ms' }).durationSec, 0.5);
  assert.deepEqual(parseLoadOptions(undefined, { profile: 'burst', burstOn: '2', burstOff: '1', base: '3' }).profile, {
    name: 'burst',
    base: 3,
    onSec: 2,
    offSec: 1,
  });
  assert.deepEqual(parseLoadOptions(undefined, { profile: 'step', duration: '40' }).profile, { name: 'step', base: 0, steps: 5, stepSec: 8 });
  assert.deepEqual(parseLoadOptions(undefined, { profile: 'ramp', duration: '30' }).profile, { name: 'ramp', base: 0, rampSec: 30 });
  assert.deepEqual(parseLoadOptions(undefined, { profile: 'sine', period: '15' }).profile, { name: 'sine', base: 0, periodSec: 15 });
  assert.equal(parseLoadOptions(undefined, { method: 'delete' }).method, 'DELETE');
});

test('bad input: one clear usage error (exit 2) naming the flag and what was received', () => {
  const table: [string | undefined, RawLoadOptions, RegExp][] = [
    ['not a url', {}, /invalid URL "not a url"/],
    ['ftp://127.0.0.1/', {}, /must use http:\/\/ or https:\/\//],
    [undefined, { threads: 'abc' }, /--threads must be a positive integer \(received "abc"\)/],
    [undefined, { threads: '0' }, /--threads must be a positive integer \(received "0"\)/],
    [undefined, { threads: '-3' }, /--threads must be a positive integer/],
    [undefined, { threads: '2.5' }, /--threads must be a positive integer/],
    [undefined, { duration: '0' }, /--duration must be a positive duration/],
    [undefined, { duration: '-1' }, /--duration must be a positive duration/],
    [undefined, { duration: 'soon' }, /--duration must be a positive duration.*received "soon"/],
    [undefined, { rate: '0' }, /--rate must be a positive number \(received "0"\)/],
    [undefined, { rate: 'fast' }, /--rate must be a positive number/],
    [undefined, { profile: 'wave' }, /--profile must be one of constant, burst, ramp, step, spike, sine \(received "wave"\)/],
    [undefined, { timeout: '0' }, /--timeout must be a positive integer/],
    [undefined, { workers: '-1' }, /--workers must be a non-negative integer/],
    [undefined, { workers: '4', threads: '2' }, /--workers \(4\) must be <= --threads \(2\)/],
    [undefined, { header: ['novalue'] }, /--header must look like "name: value" \(received "novalue"\)/],
    [undefined, { header: ['bad name: x'] }, /--header must look like/],
    [undefined, { method: 'GE T' }, /--method must be an HTTP method/],
    [undefined, { body: 'x', method: 'GET' }, /--body cannot be sent with --method GET/],
    [undefined, { burstOn: '3' }, /--burst-on only applies to --profile burst \(received --profile constant\)/],
    [undefined, { profile: 'ramp', period: '3' }, /--period only applies to --profile sine/],
    [undefined, { profile: 'burst', base: '30', threads: '20' }, /--base \(30\) must be <= the peak threads \(20\)/],
    [undefined, { profile: 'step', steps: '0' }, /--steps must be a positive integer/],
    [undefined, { profile: 'burst', burstOn: '0' }, /--burst-on must be a positive duration/],
    [undefined, { out: '' }, /--out needs a file path/],
  ];
  for (const [url, raw, message] of table) {
    assert.throws(
      () => parseLoadOptions(url, raw),
      (err: unknown) => {
        assert.ok(err instanceof AutoscaleError, `${JSON.stringify(raw)} threw ${String(err)}`);
        assert.equal(err.code, 'AS_ERR_USAGE');
        assert.equal(err.exitCode, 2);
        assert.match(err.message, message);
        assert.doesNotMatch(err.message, /\n/);
        return true;
      },
      `${url} ${JSON.stringify(raw)}`,
    );
  }
});
