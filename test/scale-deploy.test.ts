/**
 * The deployment files, checked without a Docker engine (this machine has none): the compose file
 * starts Redis, the API, two provers and Prometheus from one image, every node's environment is
 * valid zkinfer configuration pointing at the compose Redis, the provers read the volume the API
 * builds into, Prometheus scrapes each node where it listens, the Dockerfile builds that image, and
 * the dashboard only queries metrics the nodes export.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { configFromEnv, ENV_NAMES, type ServiceConfig } from '../src/service/config.js';
import { createMetrics } from '../src/service/metrics.js';
import { REPO_ROOT } from './support/env.js';

const read = (file: string) => readFileSync(join(REPO_ROOT, file), 'utf8');
// `merge: true`: the file's nodes share settings through YAML merge keys (<<).
const compose = parse(read('docker-compose.yml'), { merge: true });
const services = compose.services as Record<string, any>;
const NODES = ['api', 'prover-1', 'prover-2'];
const configOf = (name: string): ServiceConfig => configFromEnv(services[name].environment);
/** `volume:/path[:ro]` → the path a named volume is mounted at in a service, if it is. */
const mountOf = (name: string, volume: string) => (services[name].volumes as string[]).map((v) => v.split(':')).find(([source]) => source === volume)?.[1];

test('compose: Redis, the API, two provers and Prometheus, the zkinfer nodes from one image', () => {
  assert.deepEqual(Object.keys(services).sort(), ['api', 'prometheus', 'prover-1', 'prover-2', 'redis']);
  assert.equal(services.api.build, '.');
  for (const name of NODES) assert.equal(services[name].image, services.api.image, `${name} runs the image the API builds`);
  assert.deepEqual(services.api.command, ['serve']);
  assert.deepEqual(services['prover-1'].command, ['prover']);
  assert.deepEqual(services['prover-2'].command, ['prover']);
  assert.ok(services.redis.image.startsWith('redis:'));
  assert.ok(services.prometheus.image.startsWith('prom/prometheus'));
  for (const name of Object.keys(services)) {
    for (const volume of services[name].volumes ?? []) {
      const source = String(volume).split(':')[0];
      assert.ok(source.startsWith('./') || source in compose.volumes, `${name}: volume ${source} is declared`);
    }
  }
});

test("compose: every node's environment is valid configuration on the compose Redis", () => {
  const names = new Set<string>();
  for (const name of NODES) {
    const env = services[name].environment as Record<string, string>;
    for (const variable of Object.keys(env)) assert.ok((ENV_NAMES as string[]).includes(variable), `${name}: ${variable} is not a zkinfer setting`);
    const config = configOf(name);
    const redis = new URL(config.redisUrl!);
    assert.ok(redis.hostname in services, `${name}: REDIS_URL names the compose service ${redis.hostname}`);
    assert.ok(services[name].depends_on.redis, `${name} starts after Redis`);
    assert.equal(config.queuePrefix, configOf('api').queuePrefix, `${name} uses the API's queue`);
    names.add(config.nodeName);
  }
  assert.equal(names.size, NODES.length, 'node names are distinct');
  assert.deepEqual(services.api.ports, [`${configOf('api').port}:${configOf('api').port}`]);
});

test('compose: provers read the artifact volume the API builds into', () => {
  const api = configOf('api');
  assert.equal(api.artifactSource.kind, 'directory');
  assert.equal(mountOf('api', 'artifacts'), join(api.dataDir, 'artifacts'), 'the API builds into the shared volume');
  for (const name of ['prover-1', 'prover-2']) {
    const source = configOf(name).artifactSource;
    assert.equal(source.kind, 'directory');
    assert.equal(source.kind === 'directory' && source.dir, mountOf(name, 'artifacts'), `${name} reads the shared volume`);
    assert.notEqual(mountOf(name, 'api-data'), configOf(name).dataDir, `${name} keeps its cache apart from the API`);
  }
});

test('Prometheus scrapes the API and both provers where they serve /metrics', () => {
  const prometheus = parse(read('deploy/prometheus.yml'));
  assert.ok(
    services.prometheus.volumes.some((v: string) => v.startsWith('./deploy/prometheus.yml:')),
    'compose mounts this scrape config',
  );
  const targets = prometheus.scrape_configs.flatMap((job: any) => job.static_configs.flatMap((s: any) => s.targets as string[]));
  const expected = NODES.map((name) => `${name}:${name === 'api' ? configOf(name).port : configOf(name).proverMetricsPort}`);
  assert.deepEqual([...targets].sort(), expected.sort());
  for (const job of prometheus.scrape_configs) assert.equal(job.metrics_path ?? '/metrics', '/metrics');
});

test('the Dockerfile builds the image with deploy/build.sh and starts it with deploy/start.sh: Node 20, non-root, the ports the nodes use', () => {
  const lines = read('Dockerfile')
    .split('\n')
    .filter((l) => l.trim() && !l.trim().startsWith('#'));
  const instructions = lines.filter((l) => /^[A-Z]+\s/.test(l));
  assert.ok(instructions.filter((l) => l.startsWith('FROM ')).every((l) => l.startsWith('FROM node:20-bookworm-slim')));
  // The steps themselves are in the scripts (test/deploy-scripts.test.ts runs them outside Docker).
  assert.ok(instructions.includes('RUN deploy/build.sh --production'));
  assert.ok(!lines.some((l) => /npm (ci|prune)\b/.test(l)), 'no build step outside deploy/build.sh');
  assert.match(read('deploy/build.sh'), /^npm ci\b/m);
  assert.equal(instructions.filter((l) => l.startsWith('USER ')).at(-1), 'USER node');
  assert.equal(
    instructions.find((l) => l.startsWith('ENTRYPOINT ')),
    'ENTRYPOINT ["/app/deploy/start.sh"]',
  );
  assert.match(read('deploy/start.sh'), /^exec node dist\/src\/cli\/main.js "\$@"$/m);
  const exposed = instructions
    .find((l) => l.startsWith('EXPOSE '))!
    .split(/\s+/)
    .slice(1)
    .map(Number);
  assert.ok(exposed.includes(configOf('api').port) && exposed.includes(configOf('prover-1').proverMetricsPort));
  const ignored = read('.dockerignore').split('\n');
  for (const dir of ['node_modules', 'dist', 'data']) assert.ok(ignored.includes(dir), `.dockerignore leaves out ${dir}`);
});

test('the dashboard queries only metrics the nodes export', async () => {
  const dashboard = JSON.parse(read('deploy/grafana-dashboard.json'));
  const metrics = createMetrics('x');
  const exported = new Set([...(await metrics.registry.getMetricsAsJSON()).map((m) => m.name), 'zkinfer_queue_jobs']);
  const exprs: string[] = dashboard.panels.flatMap((p: any) => p.targets.map((t: any) => t.expr));
  assert.ok(exprs.length >= 6);
  for (const expr of exprs) {
    for (const [name] of expr.matchAll(/zkinfer_[a-z_]+/g)) {
      assert.ok(exported.has(name.replace(/_(bucket|sum|count)$/, '')), `${name} in ${expr}`);
    }
    for (const [, job] of expr.matchAll(/job="([^"]+)"/g)) assert.ok(['zkinfer-api', 'zkinfer-provers'].includes(job), `job ${job}`);
  }
});
