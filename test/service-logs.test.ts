/**
 * What `zkinfer serve` writes to its logs and metrics, on a real process: no API key, cookie, salt or
 * private input in any line or metric label (issue: secrets in logs), status polls at debug, the
 * insecure-ptau banner as readable lines, pino-pretty's lines on request and JSON otherwise.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { NO_REDIS, startLoopbackRedis } from './support/cluster.js';
import { REPO_ROOT } from './support/env.js';
import { Client, smallMlp, serviceDataDir } from './support/service.js';

interface Serving {
  proc: ChildProcess;
  url: string;
  /** Everything the process wrote so far, stdout and stderr. */
  output(): string;
  stop(): Promise<void>;
}

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** `zkinfer serve` on a free port; ready when its output names the URL it listens on. */
const serve = (env: Record<string, string>) => start('serve', env, /zkinfer listening on (http:\/\/[\d.:]+)/);

/**
 * `zkinfer <command>`, its output captured; ready when the output matches `ready`. With `terminal`,
 * its stdout is a terminal: util-linux `script` runs it on a pseudo-terminal.
 */
async function start(command: 'serve' | 'prover', env: Record<string, string>, ready: RegExp, terminal = false): Promise<Serving> {
  const dataDir = serviceDataDir();
  dirs.push(dataDir);
  const { REDIS_URL: _, ZKINFER_LOG_FORMAT: __, ...inherited } = process.env;
  const argv = [process.execPath, join(REPO_ROOT, 'dist/src/cli/main.js'), command];
  const [file, args] = terminal ? ['script', ['-qec', argv.map((a) => `'${a}'`).join(' '), '/dev/null']] : [argv[0], argv.slice(1)];
  const proc = spawn(file, args, {
    env: { ...inherited, PORT: '0', ZKINFER_HOST: '127.0.0.1', ZKINFER_DATA_DIR: dataDir, ZKINFER_EXAMPLE: '0', ZKINFER_POOL_SIZE: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  proc.stdout!.on('data', (d) => (text += d));
  proc.stderr!.on('data', (d) => (text += d));
  const closed = once(proc, 'close');
  const url = await new Promise<string>((resolve, reject) => {
    const check = () => {
      const m = ready.exec(text);
      if (m) resolve(m[1]);
    };
    proc.stdout!.on('data', check);
    void closed.then(() => reject(new Error(`zkinfer ${command} exited before it was ready:\n${text}`)));
  });
  return {
    proc,
    url,
    output: () => text,
    async stop() {
      proc.kill('SIGTERM');
      await closed;
    },
  };
}

test('no API key, cookie, salt or private input reaches a log line or a metric', async () => {
  const key = 'sk-live-7f3a9c1e5b2d4068';
  const cookie = 'session=c00k1e-s3cr3t';
  const salt = '918273645546372819';
  const input = [[0.3141, -0.2718, 0.1618]];
  const outOfRange = 777.125;
  const service = await serve({ ZKINFER_API_KEYS: key, ZKINFER_LOG_LEVEL: 'trace', ZKINFER_LOG_FORMAT: 'json' });
  const api = new Client(service.url, key);
  const withCookie = async (method: string, path: string, body?: unknown) =>
    fetch(`${service.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, cookie, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  try {
    const model = await api.ready(smallMlp(11), '?name=secrets&visibility=input%3Dhashed');
    const proved = await api.prove(model.id, { input, salt }, '?wait=60');
    assert.equal(proved.status, 200, JSON.stringify(proved.body));
    assert.equal(proved.body.opening.salt, salt, 'the client gets its opening');
    assert.equal((await withCookie('GET', `/v1/proofs/${proved.body.id}`)).status, 200);
    assert.equal((await withCookie('POST', `/v1/models/${model.id}/proofs`, { input: [[outOfRange, 0, 0]], salt })).status, 400);
    assert.equal((await withCookie('DELETE', `/v1/models/no-such-model`)).status, 404);
    const metrics = await (await fetch(`${service.url}/metrics`)).text();
    await service.stop();
    const logs = service.output();
    const secrets = [key, 'c00k1e-s3cr3t', salt, ...input[0].map(String), String(outOfRange), String(outOfRange * 256)];
    for (const secret of secrets) {
      assert.ok(!logs.includes(secret), `the logs show ${secret}`);
      assert.ok(!metrics.includes(secret), `the metrics show ${secret}`);
    }
    assert.match(logs, /"authorization":"\[redacted\]"/, 'the request logs were captured, headers and all');
  } finally {
    service.proc.kill('SIGKILL');
  }
});

test('JSON logs: status polls at debug, the insecure-ptau banner one readable line each', async () => {
  const service = await serve({ ZKINFER_LOG_LEVEL: 'info', ZKINFER_LOG_FORMAT: 'json' });
  const api = new Client(service.url);
  try {
    const model = await api.ready(smallMlp(12), '?name=polled');
    const job = (await api.prove(model.id, { input: [[0.1, 0.2, 0.3]] })).body;
    await api.job(job.id);
    await service.stop();
    const lines = service
      .output()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const requests = lines.filter((l) => l.req).map((l) => `${l.req.method} ${l.req.url.split('?')[0]}`);
    assert.ok(requests.includes('POST /v1/models') && requests.includes(`POST /v1/models/${model.id}/proofs`), requests.join(', '));
    assert.ok(!requests.some((r) => r.startsWith('GET ')), `polls at info: ${[...new Set(requests)].join(', ')}`);
    const banner = lines.filter((l) => l.level === 40 && l.model === model.id).map((l) => l.msg);
    assert.ok(
      banner.some((m) => /^WARNING: INSECURE DEVELOPMENT POWERS-OF-TAU/.test(m)),
      banner.join('\n'),
    );
    assert.ok(
      banner.every((m) => !m.includes('\n') && !/^!+$/.test(m)),
      banner.join('\n'),
    );
  } finally {
    service.proc.kill('SIGKILL');
  }
});

test('ZKINFER_LOG_FORMAT=pretty (the default on a terminal): human-readable lines, one per request', async () => {
  const service = await serve({ ZKINFER_LOG_FORMAT: 'pretty' });
  const reply = await fetch(`${service.url}/v1/models/no-such-model`, { headers: { 'X-Request-Id': 'req-42', 'user-agent': 'ua-probe' } });
  assert.equal(reply.status, 404);
  await service.stop();
  const lines = service.output().split('\n');
  assert.match(lines[0], /^\[[\d:.]+\] INFO: zkinfer listening on http/);
  assert.throws(() => JSON.parse(lines[0]));
  // A request is one line: method, URL, status, time and request id; not a dump of its headers.
  const request = lines.filter((l) => l.includes('/v1/models/no-such-model'));
  assert.equal(request.length, 1, service.output());
  assert.match(request[0], /^\[[\d:.]+\] WARN: GET \/v1\/models\/no-such-model 404 \d+ ms \(request req-42\)$/);
  assert.ok(!service.output().includes('ua-probe'), service.output());
});

test('on a terminal, without ZKINFER_LOG_FORMAT: human-readable lines; JSON when piped', async (t) => {
  if (!existsSync('/usr/bin/script')) return t.skip('needs util-linux script for a pseudo-terminal');
  const onTerminal = await start('serve', {}, /zkinfer listening on (http:\/\/[\d.:]+)/, true);
  await onTerminal.stop();
  // Without the colours pino-pretty adds on a terminal.
  const text = stripVTControlCharacters(onTerminal.output());
  assert.match(text, /^\[[\d:.]+\] INFO: zkinfer listening on http/m);
  const piped = await serve({});
  await piped.stop();
  assert.equal(JSON.parse(piped.output().split('\n')[0]).msg.startsWith('zkinfer listening on http'), true);
});

test('a prover node names itself once per log line', async (t) => {
  const redis = await startLoopbackRedis();
  if (!redis) return t.skip(NO_REDIS);
  try {
    const prover = await start(
      'prover',
      { REDIS_URL: redis.url, ZKINFER_NODE_NAME: 'prover-x', ZKINFER_PROVER_METRICS_PORT: '0', ZKINFER_LOG_FORMAT: 'json' },
      /zkinfer prover (prover-x) taking jobs/,
    );
    await prover.stop();
    const lines = prover.output().trim().split('\n');
    assert.ok(lines.length >= 2, prover.output());
    // JSON.parse would keep one of two equal keys: count them in the text.
    for (const line of lines) assert.equal(line.match(/"node":/g)?.length, 1, line);
  } finally {
    redis.proc.kill();
  }
});
