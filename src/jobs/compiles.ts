/**
 * Background model builds (compile + setup) on the compile pool. One build per artifact key at a
 * time: identical uploads wait for the same build, and every model on the key settles with it.
 */
import { rmSync } from 'node:fs';
import { MessageChannel } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { Piscina } from 'piscina';
import { errorBody, ZkError } from '../core/errors.js';
import type { Metrics } from '../service/metrics.js';
import type { ArtifactStore } from '../store/artifacts.js';
import type { ModelRecord, ModelStore } from '../store/models.js';
import type { CompileOutcome, CompileProgress, CompileTask, WorkerResult } from './tasks.js';

export interface BuildProgress {
  stage: string;
  /** Of the whole build. */
  percent: number;
  /** Of the current stage (setup's `ptau` and `keys`). */
  stagePercent?: number;
  constraints?: number;
  ptauPower?: number;
}

export class ModelBuilder {
  private readonly builds = new Map<string, Promise<void>>();
  private readonly progress = new Map<string, BuildProgress>();
  private closing = false;

  constructor(
    private readonly pool: Piscina,
    private readonly models: ModelStore,
    private readonly artifacts: ArtifactStore,
    private readonly options: { dataDir: string; maxConstraints: number },
    private readonly metrics: Metrics,
    private readonly log: Logger,
  ) {}

  /** Starts (or joins) the build of a model's artifacts; resolves when its models are settled. */
  build(model: ModelRecord): Promise<void> {
    if (this.artifacts.readyInfo(model.key)) {
      this.models.settle(model.key, 'ready');
      return Promise.resolve();
    }
    let build = this.builds.get(model.key);
    if (!build) {
      this.progress.set(model.key, { stage: 'queued', percent: 0 });
      build = this.run(model)
        .catch((e) => this.log.error({ err: e, model: model.id }, 'model build crashed'))
        .finally(() => {
          this.builds.delete(model.key);
          this.progress.delete(model.key);
        });
      this.builds.set(model.key, build);
    }
    return build;
  }

  progressOf(key: string): BuildProgress | undefined {
    return this.progress.get(key);
  }

  /** Stops the pool; builds cut short stay `compiling` and the next start runs them again. */
  async close(): Promise<void> {
    this.closing = true;
    await this.pool.destroy();
    await Promise.all(this.builds.values());
  }

  private async run(model: ModelRecord): Promise<void> {
    const { key, name } = model;
    const { port1, port2 } = new MessageChannel();
    port1.on('message', (m: CompileProgress) => {
      if ('log' in m) this.log[/WARNING/.test(m.log) ? 'warn' : 'info']({ model: model.id, name }, m.log);
      else {
        const known = this.progress.get(key);
        this.progress.set(key, {
          stage: m.stage,
          percent: Math.round(m.fraction * 100),
          ...(m.stageFraction !== undefined ? { stagePercent: Math.round(m.stageFraction * 100) } : {}),
          ...((m.constraints ?? known?.constraints) !== undefined ? { constraints: m.constraints ?? known?.constraints } : {}),
          ...((m.ptauPower ?? known?.ptauPower) !== undefined ? { ptauPower: m.ptauPower ?? known?.ptauPower } : {}),
        });
      }
    });
    const task: CompileTask = {
      upload: this.artifacts.uploadPath(key),
      buildDir: this.artifacts.buildDir(key),
      dir: this.artifacts.dir(key),
      name,
      settings: model.settings,
      ...this.options,
      port: port2,
    };
    let result: WorkerResult<CompileOutcome>;
    try {
      result = (await this.pool.run(task, { transferList: [port2] })) as WorkerResult<CompileOutcome>;
    } catch (e) {
      if (this.closing) return;
      result = { ok: false, error: errorBody(new ZkError('WORKER_CRASHED', `the compile worker died: ${(e as Error).message}`)) };
    } finally {
      port1.close();
      rmSync(task.buildDir, { recursive: true, force: true });
    }
    if (result.ok) {
      this.metrics.compileDuration.observe({ stage: 'compile' }, result.value.compileSeconds);
      this.metrics.compileDuration.observe({ stage: 'setup' }, result.value.setupSeconds);
      this.models.settle(key, 'ready');
      this.artifacts.dropUpload(key);
      this.log.info({ model: model.id, name, ...result.value }, 'model ready');
    } else {
      this.metrics.failures.inc({ kind: 'compile', reason: result.error.code });
      this.models.settle(key, 'failed', result.error);
      this.artifacts.remove(key);
      this.log.warn({ model: model.id, name, error: result.error }, 'model build failed');
    }
    // Every model on this key was deleted while it built.
    if (this.models.usersOf(key) === 0) this.artifacts.remove(key);
  }
}
