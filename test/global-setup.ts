/**
 * Runs once before `node --test`: a fresh development ptau for the whole suite. Nothing survives from
 * an earlier run, so a clean checkout sees exactly what CI sees.
 */
import { rmSync } from 'node:fs';
import { releaseCurve } from '../src/core/snarkjs.js';
import { ensureDevPtau } from '../src/setup/index.js';
import { TEST_DATA_DIR, TEST_PTAU_POWER } from './support/env.js';

rmSync(TEST_DATA_DIR, { recursive: true, force: true });
const started = Date.now();
await ensureDevPtau(TEST_DATA_DIR, TEST_PTAU_POWER, () => {});
console.log(`global setup: development ptau of power ${TEST_PTAU_POWER} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
await releaseCurve();
