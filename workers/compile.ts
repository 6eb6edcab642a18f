/**
 * Compile pool worker (piscina): compile + Groth16 setup of one uploaded model, off the service's
 * event loop. Progress and setup's log lines (the insecure-ptau warning) go back over `task.port`.
 */
import { readFileSync, renameSync, rmSync } from 'node:fs';
import { ZkError } from '../src/core/errors.js';
import type { CompileOutcome, CompileProgress, CompileTask, WorkerResult } from '../src/jobs/tasks.js';
import { settle } from '../src/jobs/tasks.js';
import { compileModel } from '../src/model/compile.js';
import { setupModel } from '../src/model/setup.js';

/** Share of the progress bar for compiling; setup takes the rest. */
const COMPILE_SHARE = 0.6;

export default function compile(task: CompileTask): Promise<WorkerResult<CompileOutcome>> {
  const post = (m: CompileProgress) => task.port.postMessage(m);
  return settle(async () => {
    const { scale, headroomBits, samples, ptau, visibility, graph, acceptError } = task.settings;
    const started = performance.now();
    const info = await compileModel(readFileSync(task.upload), task.buildDir, {
      scale,
      headroomBits,
      samples,
      visibility,
      settings: graph,
      acceptError,
      name: task.name,
      progress: (stage, fraction) => stage !== 'done' && post({ stage, fraction: fraction * COMPILE_SHARE }),
    });
    if (info.constraints.r1cs > task.maxConstraints) {
      throw new ZkError('TOO_LARGE', `the circuit has ${info.constraints.r1cs} constraints, over this service's limit of ${task.maxConstraints}`, {
        constraints: info.constraints.r1cs,
        limit: task.maxConstraints,
      });
    }
    const compiled = performance.now();
    post({ stage: 'setup', fraction: COMPILE_SHARE });
    await setupModel(task.buildDir, { dataDir: task.dataDir, ptau, log: (line) => post({ log: line }) });
    rmSync(task.dir, { recursive: true, force: true });
    renameSync(task.buildDir, task.dir);
    return { compileSeconds: (compiled - started) / 1000, setupSeconds: (performance.now() - compiled) / 1000 };
  }).finally(() => task.port.close());
}
