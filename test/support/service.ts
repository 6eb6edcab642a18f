/**
 * Running the proof service in tests: a real server on an ephemeral 127.0.0.1 port over its own
 * temporary data directory, whose ptau cache starts with the suite's development ptau (global
 * setup), so key setup truncates it instead of generating one. And a small JSON client.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { releaseCurve } from '../../src/core/snarkjs.js';
import { modelFiles } from '../../src/model/layout.js';
import { configWith, type ServiceConfig } from '../../src/service/config.js';
import { startService, type Service } from '../../src/service/service.js';
import { devPtauPath } from '../../src/setup/index.js';
import { OnnxBuilder, mulberry32, randomTensor } from './onnx-builder.js';
import { TEST_DATA_DIR, TEST_PTAU_POWER, tempDir } from './env.js';

/** A data directory whose ptau cache holds the suite's development ptau. */
export function serviceDataDir(): string {
  const dataDir = tempDir('service');
  mkdirSync(join(dataDir, 'ptau'), { recursive: true });
  copyFileSync(devPtauPath(TEST_DATA_DIR, TEST_PTAU_POWER), devPtauPath(dataDir, TEST_PTAU_POWER));
  return dataDir;
}

export type TestService = Service & { config: ServiceConfig; client: Client };

/** The service on 127.0.0.1, an ephemeral port and (unless given) a fresh data directory; silent, no example model. */
export async function startTestService(overrides: Partial<ServiceConfig> = {}): Promise<TestService> {
  const dataDir = overrides.dataDir ?? serviceDataDir();
  if (!existsSync(dataDir)) throw new Error(`no data dir ${dataDir}`);
  const config = configWith({ port: 0, host: '127.0.0.1', logLevel: 'silent', registerExample: false, ...overrides, dataDir });
  const service = await startService(config);
  return { ...service, config, client: new Client(service.url) };
}

/**
 * One service for a whole test file: started in a `before` hook, which then runs `setup` (uploads the
 * file's models; the service is up by then), and closed after the tests with snarkjs' curve workers
 * released and the data directory removed. Read `service` and `client` in `setup` and in tests.
 * (Node 20 may start the root `before` hooks of a file together, so the file's own setup goes here.)
 */
export function useTestService(
  overrides: Partial<ServiceConfig> = {},
  setup: () => Promise<void> = async () => {},
): {
  readonly service: TestService;
  readonly client: Client;
  /** Stops the service and starts it again on the same data directory with these settings. */
  restart(settings: Partial<ServiceConfig>): Promise<TestService>;
} {
  let running: TestService | undefined;
  before(async () => {
    running = await startTestService(overrides);
    await setup();
  });
  after(async () => {
    await running?.close();
    await releaseCurve();
    if (running) rmSync(running.config.dataDir, { recursive: true, force: true });
  });
  const service = (): TestService => {
    if (!running) throw new Error('the test service is not running (read it in setup or in a test)');
    return running;
  };
  return {
    get service() {
      return service();
    },
    get client() {
      return service().client;
    },
    async restart(settings) {
      const { dataDir } = service().config;
      await service().close();
      running = await startTestService({ ...settings, dataDir });
      return running;
    },
  };
}

/** 3 → 4 (Relu) → 2: about 80 constraints, so it compiles and sets up in a couple of seconds. */
export function smallMlp(seed = 7): Uint8Array {
  const rng = mulberry32(seed);
  return new OnnxBuilder()
    .input('input', [1, 3])
    .initializer('W1', [4, 3], randomTensor(rng, [4, 3], 0.6))
    .initializer('b1', [4], randomTensor(rng, [4], 0.6))
    .initializer('W2', [2, 4], randomTensor(rng, [2, 4], 0.5))
    .initializer('b2', [2], randomTensor(rng, [2], 0.5))
    .node('Gemm', ['input', 'W1', 'b1'], ['h'], { transB: 1 })
    .node('Relu', ['h'], ['r'])
    .node('Gemm', ['r', 'W2', 'b2'], ['output'], { transB: 1 })
    .output('output', [1, 2])
    .build();
}

/**
 * Makes a model's plan far bigger in memory without changing what it computes: one more Relu layer
 * (a copy of the model's), of 40000 new wires summing 20 copies of input 0 each, range-checked
 * generously. Loading it takes
 * some 60 MB of JS heap, in many small allocations (one allocation beyond the heap limit would
 * abort the whole process instead: a V8 limit, see README).
 */
/** The artifact directory of the model named `name` in a service's data directory. */
export function modelDirNamed(dataDir: string, name: string): string {
  const root = join(dataDir, 'artifacts');
  const dirs = readdirSync(root)
    .filter((k) => !k.startsWith('.'))
    .map((k) => join(root, k));
  const dir = dirs.find((d) => JSON.parse(readFileSync(modelFiles(d).info, 'utf8')).name === name);
  if (!dir) throw new Error(`no model named ${name} in ${root}`);
  return dir;
}

export function inflatePlan(dir: string): void {
  const file = modelFiles(dir).plan;
  const plan = JSON.parse(readFileSync(file, 'utf8'));
  const form = { wires: Array(20).fill(0), coefs: Array(20).fill('1'), bias: '0' };
  const relu = plan.groups.find((g: { kind: string }) => g.kind === 'shift');
  plan.groups.push({ ...relu, node: 'padding', bits: 64, firstWire: plan.wireCount, inputs: Array(40_000).fill(form) });
  plan.wireCount += 40_000;
  writeFileSync(file, JSON.stringify(plan));
}

export const SMALL_INPUT = { input: [[0.25, -0.5, 0.75]] };

export interface Reply<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

export class Client {
  constructor(
    readonly url: string,
    private readonly apiKey?: string,
  ) {}

  withKey(apiKey: string): Client {
    return new Client(this.url, apiKey);
  }

  /** A request with a JSON body (or a raw string/bytes body with its own content type). */
  async request<T = any>(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<Reply<T>> {
    const headers: Record<string, string> = this.apiKey ? { authorization: `Bearer ${this.apiKey}` } : {};
    let payload: BodyInit | undefined;
    if (body instanceof FormData) payload = body;
    else if (body !== undefined) {
      headers['content-type'] = contentType;
      payload = typeof body === 'string' ? body : body instanceof Uint8Array ? new Uint8Array(body) : JSON.stringify(body);
    }
    const res = await fetch(`${this.url}${path}`, { method, headers, body: payload });
    const text = await res.text();
    const json = (res.headers.get('content-type') ?? '').includes('json');
    return { status: res.status, headers: res.headers, body: (json && text ? JSON.parse(text) : text) as T };
  }

  upload(onnx: Uint8Array, query = ''): Promise<Reply> {
    return this.request('POST', `/v1/models${query}`, onnx, 'application/octet-stream');
  }

  /** Polls a model until it leaves `compiling`; returns every view seen, the last one settled. */
  async settle(id: string, timeoutMs = 120_000): Promise<any[]> {
    const seen = [];
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { body } = await this.request('GET', `/v1/models/${id}`);
      seen.push(body);
      if (body.status !== 'compiling') return seen;
      if (Date.now() > deadline) throw new Error(`model ${id} still compiling after ${timeoutMs} ms`);
      await sleep(50);
    }
  }

  /** Uploads raw ONNX and waits for the model to be ready; returns its view. */
  async ready(onnx: Uint8Array, query = '', timeoutMs?: number): Promise<any> {
    const { status, body } = await this.upload(onnx, query);
    if (status !== 202) throw new Error(`upload answered ${status}: ${JSON.stringify(body)}`);
    const last = (await this.settle(body.id, timeoutMs)).at(-1);
    if (last.status !== 'ready') throw new Error(`model failed: ${JSON.stringify(last.error)}`);
    return last;
  }

  prove(model: string, input: unknown, query = ''): Promise<Reply> {
    return this.request('POST', `/v1/models/${model}/proofs${query}`, input);
  }

  /** Polls a job until `until` holds (by default: finished). */
  async job(id: string, until = (j: any) => ['done', 'failed', 'cancelled'].includes(j.status), timeoutMs = 60_000): Promise<any> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { body } = await this.request('GET', `/v1/proofs/${id}`);
      if (until(body)) return body;
      if (Date.now() > deadline) throw new Error(`job ${id} is ${body.status} after ${timeoutMs} ms`);
      await sleep(10);
    }
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
