/**
 * Background model builds (compile + setup) on the compile pool. One build per artifact key at a
 * time: identical uploads wait for the same build, and every model on the key settles with it.
 */
import { rmSync } from 'node:fs';
import { MessageChannel } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { Piscina } from 'piscina';
import { errorBody, isZkError, ZkError } from '../core/errors.js';
import type { Metrics } from '../service/metrics.js';
import type { ArtifactStore } from '../store/artifacts.js';
import { retryWrite } from '../store/faults.js';
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

/** Builds of one model the process may die in before the model is failed rather than built again. */
export const MAX_CRASHED_BUILDS = 2;

export class ModelBuilder {
  private readonly builds = new Map<string, Promise<void>>();
  private readonly progress = new Map<string, BuildProgress>();
  /** Per running build: what stops it (the pool task's signal, the processes it started). */
  private readonly running = new Map<string, { controller: AbortController; pids: Set<number> }>();
  private closing = false;

  constructor(
    private readonly pool: Piscina,
    private readonly models: ModelStore,
    private readonly artifacts: ArtifactStore,
    private readonly options: { dataDir: string; maxConstraints: number; maxPtauPower: number },
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

  /**
   * Stops the build of `key` (its models were all deleted): the pool task is aborted, which ends its
   * worker thread, and the circom process it started is killed. Its artifacts go with it.
   */
  cancel(key: string): void {
    const build = this.running.get(key);
    if (!build || build.controller.signal.aborted) return;
    build.controller.abort();
    for (const pid of build.pids) kill(pid);
  }

  /** Stops the pool; builds cut short stay `compiling` and the next start runs them again. */
  async close(): Promise<void> {
    this.closing = true;
    await this.pool.destroy();
    await Promise.all(this.builds.values());
  }

  private async run(model: ModelRecord): Promise<void> {
    const { key, name } = model;
    // Counted before the build, taken back when it ends without a result: what is left counts the
    // builds the process died in. Past MAX_CRASHED_BUILDS the model fails instead of taking every
    // restart down with it (a build that ran the service out of memory restarted it in a loop).
    const crashed = this.models.buildStarted(key) - 1;
    if (crashed >= MAX_CRASHED_BUILDS) {
      const error = new ZkError(
        'COMPILE_FAILED',
        `the build of this model ended the service's process ${crashed} times (out of memory, or killed); it is not started again`,
        { crashed },
      );
      this.models.settle(key, 'failed', errorBody(error));
      this.artifacts.remove(key);
      this.metrics.failures.inc({ kind: 'compile', reason: error.code });
      this.log.error({ model: model.id, name, crashed }, 'model build not restarted: it ended the process each time');
      return;
    }
    const { port1, port2 } = new MessageChannel();
    const build = { controller: new AbortController(), pids: new Set<number>() };
    this.running.set(key, build);
    port1.on('message', (m: CompileProgress) => {
      if ('pid' in m) {
        build.pids.add(m.pid);
        if (build.controller.signal.aborted) kill(m.pid);
      } else if ('log' in m) {
        // A multi-line message (the insecure-ptau banner) becomes one record per line of text, so JSON
        // logs stay readable; its rules of '!' are for a terminal.
        const level = /WARNING/.test(m.log) ? 'warn' : 'info';
        for (const line of m.log
          .split('\n')
          .map((l) => l.replace(/^!+\s*/, '').trim())
          .filter(Boolean))
          this.log[level]({ model: model.id, name }, line);
      } else {
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
    let result: WorkerResult<CompileOutcome> | undefined;
    try {
      result = (await this.pool.run(task, { transferList: [port2], signal: build.controller.signal })) as WorkerResult<CompileOutcome>;
    } catch (e) {
      if (this.closing) return this.models.buildStopped(key);
      // A cancelled build (cancel()) has no result.
      if (!build.controller.signal.aborted)
        result = { ok: false, error: errorBody(new ZkError('WORKER_CRASHED', `the compile worker died: ${(e as Error).message}`)) };
    } finally {
      port1.close();
      this.running.delete(key);
      rmSync(task.buildDir, { recursive: true, force: true });
    }
    if (!result) {
      if (!(await this.recordEnd(model, () => this.models.buildStopped(key)))) return;
      return this.afterCancel(model);
    }
    if (result.ok) {
      this.metrics.compileDuration.observe({ stage: 'compile' }, result.value.compileSeconds);
      this.metrics.compileDuration.observe({ stage: 'setup' }, result.value.setupSeconds);
      if (!(await this.recordEnd(model, () => this.models.settle(key, 'ready')))) return;
      this.artifacts.dropUpload(key);
      this.log.info({ model: model.id, name, ...result.value }, 'model ready');
    } else {
      this.metrics.failures.inc({ kind: 'compile', reason: result.error.code });
      this.artifacts.remove(key);
      const { error } = result;
      if (!(await this.recordEnd(model, () => this.models.settle(key, 'failed', error)))) return;
      this.log.warn({ model: model.id, name, error }, 'model build failed');
    }
    // Every model on this key was deleted while it built.
    if (this.models.usersOf(key) === 0) this.artifacts.remove(key);
  }

  /**
   * Records a build's end, retried while the store cannot write (retryWrite): a locked database or a
   * full disk delays the record, never the process. One that still fails leaves the model compiling
   * with its upload kept, and the next start settles it (its artifacts are in place) or builds it again.
   */
  private async recordEnd(model: ModelRecord, write: () => void): Promise<boolean> {
    const failed = await retryWrite(write, (e) => this.metrics.failures.inc({ kind: 'store', reason: isZkError(e) ? e.code : 'INTERNAL' }));
    if (failed !== undefined)
      this.log.error({ err: failed, model: model.id, name: model.name }, 'the end of a model build could not be recorded; the next start settles it');
    return failed === undefined;
  }

  /** A cancelled build leaves nothing; an identical upload that joined it meanwhile builds again. */
  private afterCancel(model: ModelRecord): Promise<void> | void {
    this.log.info({ model: model.id, name: model.name }, 'model build cancelled');
    if (this.models.usersOf(model.key) > 0) return this.run(model);
    this.artifacts.remove(model.key);
  }
}

function kill(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // It has exited already.
  }
}
