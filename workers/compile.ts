/**
 * Compile pool worker (piscina): compile + key setup (Groth16, PLONK or FFLONK) of one uploaded model, off the service's
 * event loop. Progress and setup's log lines (the insecure-ptau warning) go back over `task.port`.
 */
import { readFileSync, renameSync, rmSync } from 'node:fs';
import type { CompileOutcome, CompileProgress, CompileTask, WorkerResult } from '../src/jobs/tasks.js';
import { settle } from '../src/jobs/tasks.js';
import { compileModel } from '../src/model/compile.js';
import { initCeremony } from '../src/model/ceremony.js';
import { type SetupOptions, setupModel } from '../src/model/setup.js';
import { inspectPtau } from '../src/setup/index.js';

/** Share of the progress bar for compiling; setup takes the rest. */
const COMPILE_SHARE = 0.6;

export default function compile(task: CompileTask): Promise<WorkerResult<CompileOutcome>> {
  const post = (m: CompileProgress) => task.port.postMessage(m);
  return settle(async () => {
    const { scale, headroomBits, samples, ptau, visibility, ceremonyOwner, system, graph, acceptError } = task.settings;
    const started = performance.now();
    // Both limits hold before circom runs: the plan counts the constraints exactly.
    const maxPtauPower = ptau ? (await inspectPtau(ptau)).power : task.maxPtauPower;
    const info = await compileModel(readFileSync(task.upload), task.buildDir, {
      scale,
      headroomBits,
      samples,
      visibility,
      settings: graph,
      acceptError,
      name: task.name,
      limits: { constraints: task.maxConstraints, ptauPower: maxPtauPower, system },
      onProcess: (pid) => post({ pid }),
      progress: (stage, fraction) => stage !== 'done' && post({ stage, fraction: fraction * COMPILE_SHARE }),
    });
    const compiled = performance.now();
    const constraints = info.constraints.r1cs;
    post({ stage: 'setup', fraction: COMPILE_SHARE, constraints });
    const log = (line: string) => post({ log: line });
    // Setup's two stages share the rest of the bar; a reused ptau makes its half pass at once.
    const progress: SetupOptions['progress'] = ({ stage, fraction, ptauPower }) =>
      post({
        stage,
        fraction: COMPILE_SHARE + (1 - COMPILE_SHARE) * (stage === 'ptau' ? 0.5 * fraction : 0.5 + 0.5 * fraction),
        stageFraction: fraction,
        constraints,
        ptauPower,
      });
    // An open ceremony starts from the initial key; its contributions come later, over the API.
    if (ceremonyOwner) await initCeremony(task.buildDir, { dataDir: task.dataDir, ptau, maxPower: task.maxPtauPower, log, progress });
    else await setupModel(task.buildDir, { dataDir: task.dataDir, ptau, system, maxPower: task.maxPtauPower, log, progress });
    rmSync(task.dir, { recursive: true, force: true });
    renameSync(task.buildDir, task.dir);
    return { compileSeconds: (compiled - started) / 1000, setupSeconds: (performance.now() - compiled) / 1000 };
  }).finally(() => task.port.close());
}
