/**
 * The worker's Dockerfile, checked without a Docker engine (this machine has
 * none): what it copies exists and is not ignored, it runs as non-root with no
 * HEALTHCHECK, its command is the worker the export's manifests expect on the
 * port they use — and that command, run from exactly the files the runtime
 * stage holds, with the exported Deployment's arguments, serves /health.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { exportText } from '../../src/export/export.js';
import { EXPORT_DEFAULTS, parseExportOptions } from '../../src/export/workload.js';
import { resolveConfig } from '../../src/settings/config.js';
import { freePort, sleep } from '../helpers.js';

const ROOT = new URL('../..', import.meta.url).pathname;

interface Instruction { op: string; args: string; stage: number }

/** Dockerfile instructions (continuations joined, comments dropped), each with the index of its FROM stage. */
function instructions(text: string): Instruction[] {
  const out: Instruction[] = [];
  let stage = -1;
  const joined = text.replace(/\\\n/g, ' ').split('\n').filter((l) => l.trim() !== '' && !l.trim().startsWith('#'));
  for (const line of joined) {
    const m = /^\s*([A-Za-z]+)\s+(.*)$/.exec(line);
    assert.ok(m, `not an instruction: ${line}`);
    const op = m[1].toUpperCase();
    if (op === 'FROM') stage++;
    out.push({ op, args: m[2].trim(), stage });
  }
  return out;
}

const execForm = (args: string): string[] => {
  const v = JSON.parse(args) as unknown;
  assert.ok(Array.isArray(v) && v.every((x) => typeof x === 'string'), `exec form expected: ${args}`);
  return v as string[];
};

/** .dockerignore patterns (plain names and globs at the context root, as this file uses them). */
function ignored(path: string, patterns: string[]): boolean {
  const first = path.split('/')[0];
  return patterns.some((p) => {
    const re = new RegExp('^' + p.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*') + '$');
    return re.test(path) || re.test(first);
  });
}

const dockerfile = instructions(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
const ignore = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
const last = Math.max(...dockerfile.map((i) => i.stage));
const runtime = dockerfile.filter((i) => i.stage === last);

test('Dockerfile: copies only what exists and is not ignored; small runtime stage', () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string } };
  const engineMajor = Number(/(\d+)/.exec(pkg.engines.node)![1]);
  for (const from of dockerfile.filter((i) => i.op === 'FROM')) {
    const m = /^node:(\d+)-/.exec(from.args);
    assert.ok(m, `a node base image: ${from.args}`);
    assert.ok(Number(m[1]) >= engineMajor && Number(m[1]) < 22, `Node ${m[1]} satisfies engines ${pkg.engines.node} and the Node-20 dependency pins`);
  }
  const copies = dockerfile.filter((i) => i.op === 'COPY' && !i.args.startsWith('--from'));
  assert.ok(copies.length > 0);
  for (const c of copies) {
    const parts = c.args.split(/\s+/).filter((p) => !p.startsWith('--'));
    for (const src of parts.slice(0, -1)) {
      assert.ok(existsSync(join(ROOT, src)), `COPY ${src}: exists in the repository`);
      assert.ok(!ignored(src, ignore), `COPY ${src}: not excluded by .dockerignore`);
    }
  }
  for (const heavy of ['node_modules', 'dist', 'test', '.git']) assert.ok(ignored(heavy, ignore), `${heavy} stays out of the build context`);
  // The runtime stage copies the compiled worker, its production dependencies and package.json ("type": "module"); nothing from the context.
  const runtimeCopies = runtime.filter((i) => i.op === 'COPY');
  assert.deepEqual(runtimeCopies.map((i) => i.args.split(/\s+/)[0]), ['--from=build', '--from=build', '--from=build']);
  assert.deepEqual(runtimeCopies.map((i) => i.args.split(/\s+/)[1]).sort(), ['/app/dist', '/app/node_modules', '/app/package.json']);
  assert.ok(dockerfile.some((i) => i.op === 'RUN' && /npm prune --omit=dev/.test(i.args)), 'dev dependencies pruned before the copy');
});

test('Dockerfile: non-root, no HEALTHCHECK, the worker on the port the export uses', () => {
  assert.equal(dockerfile.filter((i) => i.op === 'HEALTHCHECK').length, 0, 'the probes do the health checking');
  const users = runtime.filter((i) => i.op === 'USER');
  assert.equal(users.length, 1);
  assert.ok(!/^(root|0)(:|$)/.test(users[0].args), `runs as ${users[0].args}`);
  const entry = execForm(runtime.find((i) => i.op === 'ENTRYPOINT')!.args);
  assert.deepEqual(entry, ['node', 'dist/app/main.js']);
  // dist/app/main.js is what the build compiles from src/app/main.ts (tsconfig.build.json: rootDir src, outDir dist).
  const build = JSON.parse(readFileSync(join(ROOT, 'tsconfig.build.json'), 'utf8')) as { compilerOptions: { rootDir: string; outDir: string } };
  assert.deepEqual([build.compilerOptions.rootDir, build.compilerOptions.outDir], ['src', 'dist']);
  assert.ok(existsSync(join(ROOT, 'src/app/main.ts')));
  const cmd = execForm(runtime.find((i) => i.op === 'CMD')!.args);
  assert.equal(cmd[cmd.indexOf('--port') + 1], String(EXPORT_DEFAULTS.containerPort));
  assert.equal(cmd[cmd.indexOf('--host') + 1], '0.0.0.0');
  assert.equal(runtime.find((i) => i.op === 'EXPOSE')!.args, String(EXPORT_DEFAULTS.containerPort));
  // The image the export names by default is the tag docs/export.md builds.
  assert.match(readFileSync(join(ROOT, 'docs/export.md'), 'utf8'), new RegExp(`docker build -t ${EXPORT_DEFAULTS.image} \\.`));
});

test("the image's command, from the runtime stage's files, serves /health with the exported Deployment's arguments", async (t) => {
  assert.ok(existsSync(join(ROOT, 'dist/app/main.js')), 'run `npm run build` first');
  // The runtime stage: package.json, dist, node_modules (here the repository's, dev dependencies included; nothing else of the repo).
  const app = mkdtempSync(join(tmpdir(), 'autoscale-image-'));
  t.after(() => rmSync(app, { recursive: true, force: true }));
  cpSync(join(ROOT, 'package.json'), join(app, 'package.json'));
  cpSync(join(ROOT, 'dist'), join(app, 'dist'), { recursive: true });
  symlinkSync(join(ROOT, 'node_modules'), join(app, 'node_modules'));
  const [dep] = parseAllDocuments(exportText('kubernetes', resolveConfig({ maxConnRequests: '50' }, {}, { ports: false }), parseExportOptions('kubernetes', {}))).map((d) => d.toJS()) as Array<{
    spec: { template: { spec: { containers: Array<{ args: string[] }> } } };
  }>;
  const port = await freePort();
  const db = `sqlite:${join(app, 'visits.db')}`;
  // What the kubelet does: $(DATABASE_URL) from the env, then ENTRYPOINT + args. Only the port moves off 8080 (a shared machine).
  const args = dep.spec.template.spec.containers[0].args.map((a) => (a === '$(DATABASE_URL)' ? db : a === String(EXPORT_DEFAULTS.containerPort) ? String(port) : a));
  assert.ok(args.includes('--max-conn-requests'));
  const entry = execForm(runtime.find((i) => i.op === 'ENTRYPOINT')!.args);
  const child = spawn(entry[0] === 'node' ? process.execPath : entry[0], [...entry.slice(1), ...args.map((a) => (a === '0.0.0.0' ? '127.0.0.1' : a))], { cwd: app, stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  let status = 0;
  for (let i = 0; i < 100 && status !== 200; i++) {
    await sleep(100);
    status = await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.status, () => 0);
  }
  assert.equal(status, 200, `the worker answers /health (stderr: ${stderr})`);
  // Visits go to the database the Secret names, not to a file of the pod's own.
  const visit = await fetch(`http://127.0.0.1:${port}/visits`, { method: 'POST' });
  assert.equal(visit.status, 201);
  child.kill('SIGTERM');
  const [code] = (await once(child, 'exit')) as [number | null];
  assert.equal(code, 0, 'SIGTERM (what the kubelet sends) stops it cleanly, with node as PID 1 handling it');
});
