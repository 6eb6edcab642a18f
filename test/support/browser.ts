/**
 * A real browser for tests and benchmarks: Debian's chromium (apt; .ci/run installs it) driven by
 * playwright-core, which downloads nothing. The flags keep Chromium's own background connections
 * (updates, sync, field trials) from hammering a closed network (see STACK-NOTES: Browsers here).
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { buildWeb } from '../../scripts/build-web.js';

export const CHROMIUM = process.env.ZKINFER_CHROMIUM ?? '/usr/bin/chromium';

export const hasChromium = (): boolean => existsSync(CHROMIUM);

const FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

/** Headless Chromium (playwright gives each launch a fresh profile); the web bundles are built first (tsc alone does not). */
export async function launchBrowser(): Promise<Browser> {
  await buildWeb();
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS });
}
