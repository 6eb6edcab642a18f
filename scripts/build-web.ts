/**
 * Builds what the service serves to browsers (`npm run build` runs it after tsc) into dist/web/:
 * - client.js: the client library (`zkinfer/client`) as one ES module;
 * - app.js, index.html, style.css: the web app (web/), with Preact, htm and uPlot bundled in;
 * - docs/: Swagger UI (swagger-ui-dist) rendering /openapi.json.
 * esbuild bundles; nothing is fetched from a CDN at run time.
 */
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build, type BuildOptions, type Plugin } from 'esbuild';
import { REPO_ROOT, WEB_DIR } from '../src/api/web.js';

/** An installed package's directory (some, like circomlibjs, export no ./package.json to resolve). */
const packageDir = (name: string) => join(REPO_ROOT, 'node_modules', name);

/**
 * circomlibjs' entry also loads its contract generators, EdDSA and SMT (ethers, Node's `assert`
 * and streams); zkinfer uses only its Poseidon, so the browser gets that module alone.
 */
const poseidonOnly: Plugin = {
  name: 'circomlibjs-poseidon-only',
  setup(b) {
    b.onResolve({ filter: /^circomlibjs$/ }, () => ({ path: join(packageDir('circomlibjs'), 'src', 'poseidon_wasm.js') }));
  },
};

/** Bundles the client and the web app and copies the static files; returns the bundles' sizes in bytes. */
export async function buildWeb(outDir = WEB_DIR): Promise<Record<string, number>> {
  mkdirSync(join(outDir, 'docs'), { recursive: true });
  const common: BuildOptions = {
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    metafile: true,
    logLevel: 'error',
    plugins: [poseidonOnly],
  };
  const sizes: Record<string, number> = {};
  for (const [entry, out] of [
    [join(REPO_ROOT, 'dist', 'src', 'client', 'index.js'), 'client.js'],
    [join(REPO_ROOT, 'web', 'app.js'), 'app.js'],
  ]) {
    const result = await build({ ...common, entryPoints: [entry], outfile: join(outDir, out) });
    sizes[out] = Object.values(result.metafile!.outputs).reduce((s, o) => s + o.bytes, 0);
  }
  for (const f of ['index.html', 'style.css']) copyFileSync(join(REPO_ROOT, 'web', f), join(outDir, f));
  copyFileSync(join(packageDir('uplot'), 'dist', 'uPlot.min.css'), join(outDir, 'uPlot.min.css'));
  const swagger = packageDir('swagger-ui-dist');
  for (const f of ['swagger-ui-bundle.js', 'swagger-ui.css']) copyFileSync(join(swagger, f), join(outDir, 'docs', f));
  writeFileSync(join(outDir, 'docs', 'init.js'), "window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#swagger-ui' });\n");
  writeFileSync(
    join(outDir, 'docs', 'index.html'),
    `<!doctype html>
<html lang="en"><head><meta charset="utf-8" /><title>zkinfer API</title><link rel="icon" href="data:," /><link rel="stylesheet" href="swagger-ui.css" /></head>
<body><div id="swagger-ui"></div><script src="swagger-ui-bundle.js"></script><script src="init.js"></script></body></html>
`,
  );
  return sizes;
}

if (process.argv[1] === new URL(import.meta.url).pathname) {
  const sizes = await buildWeb();
  console.log(
    `dist/web: ${Object.entries(sizes)
      .map(([f, b]) => `${f} ${(b / 1024).toFixed(0)} KiB`)
      .join(', ')}`,
  );
}
