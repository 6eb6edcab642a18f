/**
 * The zkinfer web app (GET /): models with their shapes, costs and trust summary, upload, proving
 * and verifying in this browser with the client library, jobs, downloads. Preact + htm for the UI,
 * uPlot for the charts; bundled by scripts/build-web.ts, everything served by the service itself.
 * Private inputs stay in this page: proving runs here, and only the bundle (proof, public signals,
 * commitments) is ever sent to the service.
 */
import { h, render } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import htm from 'htm';
import uPlot from 'uplot';
import { calldata, connect } from '../dist/src/client/index.js';
import { PROOF_SYSTEMS } from '../dist/src/core/systems.js';

const html = htm.bind(h);
const zk = connect(location.origin);
const apiKey = () => localStorage.getItem('zkinfer.apiKey') ?? '';

/** A JSON file download of `value` (or text as is). */
function download(name, value, type = 'application/json') {
  const text = typeof value === 'string' ? value : JSON.stringify(value, null, 2);
  const a = Object.assign(document.createElement('a'), { href: URL.createObjectURL(new Blob([text], { type })), download: name });
  a.click();
  URL.revokeObjectURL(a.href);
}

/** Polls `load` every `ms` while `live()` holds for what it returned. */
function usePoll(load, ms, live = () => true) {
  const [value, setValue] = useState(undefined);
  const [error, setError] = useState(undefined);
  useEffect(() => {
    let timer;
    let stopped = false;
    const tick = async () => {
      try {
        const v = await load();
        if (stopped) return;
        setValue(v);
        setError(undefined);
        if (live(v)) timer = setTimeout(tick, ms);
      } catch (e) {
        if (!stopped) setError(e.message);
        timer = setTimeout(tick, ms);
      }
    };
    tick();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, []);
  return [value, error];
}

/** A bar chart of labelled values (uPlot with bar paths). */
function Bars({ title, labels, values, testid }) {
  const ref = useRef(null);
  useEffect(() => {
    if (!ref.current || values.length === 0) return;
    const xs = values.map((_, i) => i);
    const plot = new uPlot(
      {
        title,
        width: 480,
        height: 220,
        legend: { show: false },
        scales: { x: { time: false, range: [-0.6, values.length - 0.4] } },
        axes: [{ values: (_, ticks) => ticks.map((t) => (Number.isInteger(t) ? (labels[t] ?? '') : '')), rotate: 0 }, { size: 60 }],
        series: [{}, { label: title, fill: '#7d8fd6', stroke: '#3b4a7a', paths: uPlot.paths.bars({ size: [0.7, 40] }), points: { show: false } }],
      },
      [xs, values],
      ref.current,
    );
    return () => plot.destroy();
  }, [labels.join(), values.join()]);
  return html`<div ref=${ref} data-testid=${testid}></div>`;
}

function TrustSummary({ m }) {
  const v = m.settings.visibility;
  return html`<ul data-testid="trust">
    <li>${m.developmentPtau ? html`<span class="warn">Keys rest on a development powers of tau (2^${m.ptauPower}): anyone holding it can forge proofs. Not for production.</span>` : `Keys from the ceremony file ${m.settings.ptau} (2^${m.ptauPower}).`}</li>
    ${m.trust && html`<li>Phase-2 key: trusted: ${m.trust.trusted}.${m.trust.warning ? html` <span class="warn">${m.trust.warning}</span>` : ''}${m.versionId ? html` Version <code>${m.versionId.slice(0, 16)}…</code>.` : ''}</li>`}
    <li>Proofs reveal: input ${v.input}, weights ${v.weights}, output ${v.output}.</li>
    <li>Quantization ${m.quantization?.withinTolerance ? 'within' : 'OUTSIDE'} its tolerance (max error ${m.quantization?.maxAbsError.toPrecision(3)} ≤ ${m.quantization?.tolerance.toPrecision(3)} over ${m.quantization?.samples} samples).</li>
    <li>${m.clientProving ? 'Clients may prove it on their own machines (the owner published its proving artifacts).' : 'Proving only on the service (the owner keeps the circuit, which holds the weights).'}</li>
  </ul>`;
}

function ModelCard({ m }) {
  const shape = (ts) => ts?.map((t) => `${t.name} [${t.dims.join('×')}]`).join(', ');
  return html`<div class="card" data-testid="model" data-model=${m.id}>
    <h2>${m.name} <span class="badge">v${m.version}</span> <span class=${`badge ${m.status}`}>${m.status}</span></h2>
    ${m.status === 'compiling' && html`<p>Building: ${m.progress.stage} <progress max="100" value=${m.progress.percent}></progress> ${m.progress.percent}%</p>`}
    ${m.error && html`<p class="invalid">${m.error.code}: ${m.error.message}</p>`}
    <dl class="grid">
      <dt>id</dt><dd><code>${m.id}</code></dd>
      <dt>ONNX sha256</dt><dd><code>${m.onnxSha256}</code></dd>
      ${
        m.status === 'ready' &&
        html`<dt>inputs</dt><dd>${shape(m.inputs)}</dd>
        <dt>outputs</dt><dd>${shape(m.outputs)}</dd>
        <dt>constraints</dt><dd data-testid="constraints">${m.constraints.toLocaleString()} (${m.system})</dd>
        <dt>verifying key sha256</dt><dd><code>${m.vkeyHash}</code></dd>
        <dt>downloads</dt><dd><a href=${`/v1/models/${m.id}/verifier.sol`} download="verifier.sol">verifier.sol</a> · <a href=${m.artifacts['verification_key.json']} download>verification_key.json</a></dd>`
      }
    </dl>
    ${
      m.status === 'ready' &&
      html`<${TrustSummary} m=${m} />
      <div class="charts">
        <${Bars} title="constraints per layer" testid="chart-layers" labels=${m.layers.map((l) => l.op)} values=${m.layers.map((l) => l.constraints)} />
        ${m.quantization.perOutput && html`<${Bars} title="max quantization error per output" testid="chart-error" labels=${m.quantization.perOutput.map((o) => o.name)} values=${m.quantization.perOutput.map((o) => o.maxAbsError)} />`}
      </div>`
    }
  </div>`;
}

function Models() {
  const [models, error] = usePoll(() => zk.listModels(), 1500);
  if (error) return html`<p class="invalid">${error}</p>`;
  if (!models) return html`<p>Loading…</p>`;
  if (models.length === 0) return html`<p>No models yet: upload one.</p>`;
  return html`<div data-testid="models">${[...models].reverse().map((m) => html`<${ModelCard} key=${m.id} m=${m} />`)}</div>`;
}

function Upload() {
  const [result, setResult] = useState(undefined);
  const submit = async (e) => {
    e.preventDefault();
    const form = new FormData(e.target);
    const v = ['input', 'weights', 'output'].map((k) => `${k}=${form.get(k)}`).join(',');
    ['input', 'weights', 'output'].forEach((k) => form.delete(k));
    form.set('visibility', v);
    form.set('clientProving', form.get('clientProving') ? 'true' : 'false');
    for (const k of ['name', 'scale', 'headroom', 'calibration']) if (!form.get(k)) form.delete(k);
    const res = await fetch('/v1/models', { method: 'POST', body: form, headers: apiKey() ? { authorization: `Bearer ${apiKey()}` } : {} });
    const body = await res.json();
    setResult(
      res.ok
        ? html`<p class="valid verdict">Uploaded ${body.name} v${body.version} (${body.id}): ${body.status}. <a href="#models">See its build</a>.</p>`
        : html`<p class="invalid verdict">${body.error.code}: ${body.error.message}</p>`,
    );
  };
  const choice = (name, options) => html`<label>${name} <select name=${name}>${options.map((o) => html`<option>${o}</option>`)}</select></label>`;
  return html`<form class="card" onSubmit=${submit} data-testid="upload">
    <h2>Upload an ONNX model</h2>
    <label>model <input type="file" name="model" accept=".onnx" required /></label>
    <label>name <input name="name" placeholder="(the graph's name)" /> — an existing name makes its next version</label>
    <label>scale (fraction bits) <input name="scale" type="number" min="1" max="32" placeholder="8" /></label>
    <label>headroom bits <input name="headroom" type="number" min="0" max="32" placeholder="2" /></label>
    ${choice('input', ['public', 'private', 'hashed'])} ${choice('weights', ['fixed', 'public', 'private', 'hashed'])} ${choice('output', ['public', 'private', 'hashed'])}
    ${choice('system', PROOF_SYSTEMS)}
    <label><input type="checkbox" name="clientProving" /> let clients prove on their own machines (publishes the circuit; with fixed weights it holds the weights)</label>
    <label>calibration (JSON input documents, optional) <textarea name="calibration"></textarea></label>
    <button type="submit">Upload</button>
    ${result}
  </form>`;
}

/** What an opening holds that the proof hides: the input and output values the model keeps out of its proofs. */
function hiddenValues(model, opening) {
  const { visibility } = model.view.settings;
  const parts = [...(visibility.input === 'public' ? [] : opening.inputs), ...(visibility.output === 'public' ? [] : opening.outputs)];
  return parts.map((p, k) => html`${k > 0 && ', '}${p.name} <code>${JSON.stringify(p.values)}</code>`);
}

function ModelPicker({ models, value, onChange, filter = () => true }) {
  const ready = (models ?? []).filter((m) => m.status === 'ready' && filter(m));
  return html`<label>model <select data-testid="model-select" value=${value} onChange=${(e) => onChange(e.target.value)}>
    <option value="">choose…</option>
    ${ready.map((m) => html`<option value=${m.id}>${m.name} v${m.version} (${m.id.slice(0, 8)})</option>`)}
  </select></label>`;
}

const zeros = (m) =>
  JSON.stringify({
    input:
      m.inputs.length === 1
        ? new Array(m.inputs[0].dims.reduce((a, b) => a * b, 1)).fill(0)
        : Object.fromEntries(m.inputs.map((t) => [t.name, new Array(t.dims.reduce((a, b) => a * b, 1)).fill(0)])),
  });

function Prove({ addJob }) {
  const [models] = usePoll(() => zk.listModels(), 3000);
  const [id, setId] = useState('');
  const [input, setInput] = useState('');
  const [salt, setSalt] = useState('');
  const [state, setState] = useState({});
  const pick = (v) => {
    setId(v);
    const m = models.find((x) => x.id === v);
    if (m && !input) setInput(zeros(m));
  };
  const prove = async () => {
    setState({ busy: 'Proving in this browser…' });
    try {
      const model = await zk.getModel(id);
      const t0 = performance.now();
      const proof = await zk.proveLocally(model, JSON.parse(input), salt ? { salt } : {});
      setState({ model, ...proof, ms: performance.now() - t0 });
    } catch (e) {
      setState({ error: `${e.code ?? 'ERROR'}: ${e.message}` });
    }
  };
  const send = async () => {
    try {
      const job = await zk.submit(state.model, state.bundle);
      addJob(job.id);
      setState({ ...state, sent: job });
    } catch (e) {
      setState({ ...state, error: `${e.code ?? 'ERROR'}: ${e.message}` });
    }
  };
  return html`<div class="card" data-testid="prove">
    <h2>Prove in this browser</h2>
    <p>The input never leaves this page: the circuit and proving key are downloaded and the proof is made here. Sending the proof sends only the bundle (proof, public signals, commitments).</p>
    <p data-testid="client-models">Listed: the ready models whose owner lets clients prove them (uploaded with <i>let clients prove</i>, <code>clientProving=true</code>: their circuit is published). The service proves the others: <code>POST /v1/models/{id}/proofs</code>.</p>
    <${ModelPicker} models=${models} value=${id} onChange=${pick} filter=${(m) => m.clientProving} />
    <label>input (JSON, as for POST /v1/models/{id}/proofs) <textarea data-testid="input" value=${input} onInput=${(e) => setInput(e.target.value)}></textarea></label>
    <label>salt (optional, decimal) <input data-testid="salt" value=${salt} onInput=${(e) => setSalt(e.target.value)} /></label>
    <button data-testid="prove-button" disabled=${!id || !input} onClick=${prove}>Prove here</button>
    ${state.busy && html`<p>${state.busy}</p>`}
    ${state.error && html`<p class="invalid verdict" data-testid="prove-error">${state.error}</p>`}
    ${
      state.bundle &&
      html`<p class="valid verdict" data-testid="proved">Proved in ${Math.round(state.ms)} ms (witness ${Math.round(state.bundle.timings.witnessMs)} ms, proof ${Math.round(state.bundle.timings.proveMs)} ms).</p>
      ${state.bundle.commitments && html`<p>Commitments: <code data-testid="commitments">${JSON.stringify(state.bundle.commitments)}</code></p>`}
      ${state.bundle.outputs.length > 0 && html`<p>Outputs: <code>${JSON.stringify(state.bundle.outputs.map((o) => o.values))}</code></p>`}
      ${state.opening && html`<p class="warn" data-testid="opening">Opening (keep it; never shared): ${hiddenValues(state.model, state.opening)}, salt <code>${state.opening.salt ?? '—'}</code></p>`}
      <button data-testid="send-button" onClick=${send}>Send proof to the service</button>
      <button onClick=${() => download('proof.json', state.bundle)}>Download bundle</button>
      <button onClick=${async () => download('calldata.json', await calldata(state.bundle))}>Download calldata</button>
      ${state.opening && html`<button onClick=${() => download('opening.json', state.opening)}>Download opening</button>`}
      ${state.sent && html`<p data-testid="sent">The service verified it: job <code>${state.sent.id}</code> (${state.sent.status}, node ${state.sent.node}). <a href="#jobs">Jobs</a></p>`}`
    }
  </div>`;
}

function Verify() {
  const [models] = usePoll(() => zk.listModels(), 3000);
  const [id, setId] = useState('');
  const [text, setText] = useState('');
  const [result, setResult] = useState(undefined);
  const model = models?.find((m) => m.id === id);
  const verify = async () => {
    setResult({ busy: true });
    try {
      const remote = await zk.getModel(id);
      const doc = JSON.parse(text);
      setResult(await zk.verify(remote, doc.bundle ?? doc));
    } catch (e) {
      setResult({ valid: false, reason: `${e.code ?? 'ERROR'}: ${e.message}` });
    }
  };
  const file = async (e) => setText(await e.target.files[0].text());
  return html`<div class="card" data-testid="verify">
    <h2>Verify in this browser</h2>
    <p>Checks a proof bundle against the model's verifying key, here, with snarkjs: no server involved in the verdict.</p>
    <${ModelPicker} models=${models} value=${id} onChange=${setId} />
    ${model && html`<p>Verifying key sha256 (compare with the on-chain verifier's): <code data-testid="vkey-hash">${model.vkeyHash}</code></p>`}
    <label>bundle (paste, or choose a file <input type="file" accept=".json" onChange=${file} />)<textarea data-testid="bundle" value=${text} onInput=${(e) => setText(e.target.value)}></textarea></label>
    <button data-testid="verify-button" disabled=${!id || !text} onClick=${verify}>Verify here</button>
    ${result?.busy && html`<p>Verifying…</p>`}
    ${result && !result.busy && html`<p data-testid="verdict" class=${`verdict ${result.valid ? 'valid' : 'invalid'}`}>${result.valid ? 'Valid proof' : `Invalid: ${result.reason}`}</p>`}
  </div>`;
}

function JobRow({ id }) {
  const [job, error] = usePoll(
    () => zk.request('GET', `/v1/proofs/${id}`),
    1000,
    (j) => !['done', 'failed', 'cancelled'].includes(j.status),
  );
  if (error) return html`<tr><td><code>${id}</code></td><td colspan="4" class="invalid">${error}</td></tr>`;
  if (!job) return html`<tr><td><code>${id}</code></td><td colspan="4">…</td></tr>`;
  return html`<tr data-testid="job">
    <td><code>${id.slice(0, 8)}</code></td><td>${job.model.slice(0, 8)}</td>
    <td><span class=${`badge ${job.status === 'done' ? 'ready' : job.status}`}>${job.status}</span></td><td>${job.node ?? ''}</td>
    <td>${job.bundle && html`<button onClick=${() => download(`proof-${id}.json`, job.bundle)}>bundle</button><button onClick=${async () => download(`calldata-${id}.json`, await calldata(job.bundle))}>calldata</button>`}</td>
  </tr>`;
}

function Jobs({ jobs }) {
  return html`<div class="card" data-testid="jobs">
    <h2>Jobs</h2>
    ${jobs.length === 0 ? html`<p>No jobs from this browser yet.</p>` : html`<table><tr><th>job</th><th>model</th><th>status</th><th>node</th><th>downloads</th></tr>${jobs.map((j) => html`<${JobRow} key=${j} id=${j} />`)}</table>`}
  </div>`;
}

const PAGES = ['models', 'upload', 'prove', 'verify', 'jobs'];

function App() {
  const [page, setPage] = useState(location.hash.slice(1) || 'models');
  const [jobs, setJobs] = useState(() => JSON.parse(localStorage.getItem('zkinfer.jobs') ?? '[]'));
  const [key, setKey] = useState(apiKey());
  useEffect(() => {
    const onHash = () => setPage(location.hash.slice(1) || 'models');
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);
  const addJob = (id) => {
    const next = [id, ...jobs];
    localStorage.setItem('zkinfer.jobs', JSON.stringify(next));
    setJobs(next);
  };
  const saveKey = (v) => {
    localStorage.setItem('zkinfer.apiKey', v);
    setKey(v);
  };
  return html`<header>
      <h1>zkinfer</h1>
      ${PAGES.map((p) => html`<a href=${`#${p}`} class=${p === page ? 'active' : ''} data-testid=${`nav-${p}`}>${p}</a>`)}
      <a href="/docs/">API docs</a>
      <input class="key" type="password" placeholder="API key (uploads)" value=${key} onInput=${(e) => saveKey(e.target.value)} />
    </header>
    <main data-page=${page}>
      ${page === 'models' && html`<${Models} />`} ${page === 'upload' && html`<${Upload} />`} ${page === 'prove' && html`<${Prove} addJob=${addJob} />`}
      ${page === 'verify' && html`<${Verify} />`} ${page === 'jobs' && html`<${Jobs} jobs=${jobs} />`}
    </main>`;
}

render(html`<${App} />`, document.getElementById('app'));
