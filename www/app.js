// The page: pictures in (choose, drop, paste, camera, examples), each re-encoded to JPEG at the chosen
// upload size, classified at once, answered in a card that replaces the previous answer; a session
// history, a "use from code" panel, and the studies rendered as figures.
// Without JavaScript the form posts to /submit and the worker answers with an HTML page.
'use strict';

const $ = (id) => document.getElementById(id);
const el = (tag, props = {}, ...kids) => {
  const e = Object.assign(document.createElement(tag), props);
  e.append(...kids);
  return e;
};
const MAX_PICTURES = 12;
const SERVICE_READS = ['image/jpeg', 'image/png', 'image/gif', 'image/bmp'];
const WORDS = {
  unsupported_media_type: 'This is not a picture we can read.',
  bad_image: 'This picture is damaged or cut short.',
  image_too_large: 'This picture is too large.',
  body_too_large: 'This upload is too large.',
  server_busy: 'The service is busy; try again in a moment.',
  bad_gateway: 'No worker could answer.',
  backend_timeout: 'No worker answered in time.',
  empty_image: 'The upload was empty.',
  missing_field: 'The upload held no picture.',
  bad_multipart: 'The upload was malformed.',
};
let accuracy = null;      // {size: top1 %} from study 1, with .smoke and .n
let historyItems = [];    // [{when, items}], newest first
let run = 0;              // the newest classification round: older rounds stop drawing

function kb(n) { return n < 1024 ? n + ' B' : (n / 1024).toFixed(1) + ' KB'; }
function percent(p) { return (100 * p).toFixed(1) + '%'; }
// The service's words, without any host:port (internal addresses are nobody's business on the page).
function scrub(text) {
  return String(text || '').replace(/\[?[0-9a-f.:]*[0-9a-f]\]?:\d{2,5}\b|\blocalhost:\d+/gi, 'a worker');
}

// ---- preparing a picture: decode what the browser can, re-encode as JPEG at the chosen size ----------
async function decode(file) {
  try { return await createImageBitmap(file); } catch (e) { return null; }
}

function canvasOf(bitmap, scale) {
  const c = el('canvas', { width: Math.max(1, Math.round(bitmap.width * scale)),
    height: Math.max(1, Math.round(bitmap.height * scale)) });
  c.getContext('2d').drawImage(bitmap, 0, 0, c.width, c.height);
  return c;
}
const jpeg = (canvas, q) => new Promise((ok) => canvas.toBlob(ok, 'image/jpeg', q));

// {blob, name, sent, original, how, thumb}: what goes to the service.  size 0 = original pixels.
async function prepare(file, size) {
  const bitmap = await decode(file);
  const item = { name: file.name || 'pasted.png', original: file.size, blob: file, how: 'as it is' };
  if (!bitmap) { item.sent = file.size; return item; } // the service says what it is
  item.thumb = canvasOf(bitmap, Math.min(1, 160 / Math.min(bitmap.width, bitmap.height))).toDataURL('image/jpeg', 0.8);
  const scale = size ? Math.min(1, size / Math.min(bitmap.width, bitmap.height)) : 1;
  if (scale < 1 || !SERVICE_READS.includes(file.type)) {
    const c = canvasOf(bitmap, scale);
    item.blob = await jpeg(c, 0.9);
    item.name = item.name.replace(/\.[^.]*$/, '') + '.jpg';
    item.how = 'as JPEG ' + c.width + '×' + c.height;
  }
  bitmap.close();
  item.sent = item.blob.size;
  return item;
}

// ---- asking the service ----------------------------------------------------------------------------
function workers() { return $('backends').value.trim(); }

async function classify(item) {
  const data = new FormData();
  data.append('image', item.blob, item.name);
  if (workers()) data.append('number_backend_servers', workers());
  const start = performance.now();
  try {
    const res = await fetch('/submit', { method: 'POST', body: data, headers: { Accept: 'application/json' } });
    item.json = await res.text();
    item.rtt = performance.now() - start;
    let body = {};
    try { body = JSON.parse(item.json); } catch (e) { body = { error: 'bad_answer', detail: 'the answer was not JSON' }; }
    if (res.ok) item.result = body;
    else item.error = (WORDS[body.error] || 'The service could not classify this (' + res.status + ').') +
      (body.detail ? ' ' + scrub(body.detail).replace(/^./, (c) => c.toUpperCase()) + '.' : '');
  } catch (e) {
    item.error = 'The service cannot be reached. Is it still running?';
  }
}

// ---- drawing answers -----------------------------------------------------------------------------------
function card(item) {
  const c = el('article', { className: 'card' });
  c.dataset.state = item.result ? 'done' : item.error ? 'error' : 'busy';
  const pic = item.thumb ? el('img', { className: 'thumb', src: item.thumb, alt: item.name }) : el('div', { className: 'thumb none' });
  c.append(pic);
  const body = el('div', { className: 'body' });
  if (item.result) {
    const r = item.result;
    body.append(el('h3', { className: 'answer' }, r.label + ' (' + percent(r.prob) + ')'));
    const list = el('ol', { className: 'top5' });
    for (const k of r.top5) {
      const bar = el('span', { className: 'bar' });
      bar.style.width = percent(k.prob);
      list.append(el('li', {}, bar, el('span', { className: 'text' }, el('span', {}, k.label), el('span', {}, percent(k.prob)))));
    }
    const t = r.timing_ms || {};
    body.append(list, el('p', { className: 'meta' }, item.name + ' · sent ' + kb(item.sent) + ' ' + item.how +
      (item.sent < item.original ? ' (original ' + kb(item.original) + ')' : '') +
      ' · round trip ' + item.rtt.toFixed(0) + ' ms · inference ' + Number(t.inference || 0).toFixed(0) + ' ms'));
  } else if (item.error) {
    body.append(el('h3', { className: 'answer' }, item.name), el('p', { className: 'error', role: 'alert' }, item.error));
  } else {
    body.append(el('h3', { className: 'answer' }, item.name),
      el('p', { className: 'status' }, 'Classifying…'), el('progress', { 'aria-label': 'classifying ' + item.name }));
  }
  c.append(body);
  return c;
}

function draw(items) {
  const cards = $('cards');
  cards.className = items.length > 1 ? 'grid' : 'single';
  cards.replaceChildren(...items.map(card));
  $('answers').setAttribute('aria-busy', items.some((i) => !i.result && !i.error) ? 'true' : 'false');
  $('answers').hidden = false;
}

function showCode(item) {
  const name = /^[\w.-]+$/.test(item.name) ? item.name : "'" + item.name.replace(/'/g, "'\\''") + "'";
  $('curl').textContent = 'curl -F image=@' + name + (workers() ? ' -F number_backend_servers=' + workers() : '') +
    ' ' + location.origin + '/submit';
  $('json').textContent = item.json || '';
  $('code').hidden = false;
}

// ---- one round: these pictures replace whatever was shown ------------------------------------------------
async function classifyAll(files) {
  const mine = ++run;
  files = [...files].slice(0, MAX_PICTURES);
  if (!files.length) return;
  const size = Number($('size').value);
  const items = files.map((f) => ({ name: f.name || 'pasted picture' }));
  draw(items);
  $('answers').scrollIntoView({ block: 'start', behavior: 'smooth' });
  $('answers').focus({ preventScroll: true });
  for (let i = 0; i < files.length; i++) {
    const item = await prepare(files[i], size);
    if (mine !== run) return;
    items[i] = item;
    draw(items);
    await classify(item);
    if (mine !== run) return;
    draw(items);
  }
  showCode(items[items.length - 1]);
  remember(items);
}

// ---- session history ---------------------------------------------------------------------------------------
function remember(items) {
  const keep = items.map(({ name, thumb, result, error, sent, original, how, rtt, json }) =>
    ({ name, thumb, result, error, sent, original, how, rtt, json }));
  historyItems.unshift({ when: new Date().toLocaleTimeString(), items: keep });
  historyItems = historyItems.slice(0, 20);
  try { sessionStorage.setItem('imgrec-history', JSON.stringify(historyItems)); } catch (e) { /* full: memory only */ }
  drawHistory();
}

function drawHistory() {
  const list = $('history-list');
  list.replaceChildren(...historyItems.slice(1).map((h) => {
    const first = h.items[0];
    const what = first.result ? first.result.label : 'error';
    const b = el('button', { type: 'button', className: 'past' },
      first.thumb ? el('img', { src: first.thumb, alt: '' }) : '',
      el('span', {}, h.when + ' · ' + what + (h.items.length > 1 ? ' and ' + (h.items.length - 1) + ' more' : '')));
    b.addEventListener('click', () => { run++; draw(h.items); showCode(h.items[h.items.length - 1]); $('answers').scrollIntoView({ block: 'start' }); });
    return el('li', {}, b);
  }));
  $('history').hidden = historyItems.length < 2;
}

// ---- the upload-size choice and what study 1 says about it -----------------------------------------------
function sizeNote() {
  const size = Number($('size').value) || 224; // the model sees 224 × 224 whatever is sent
  const note = $('size-note');
  note.replaceChildren();
  if (!accuracy) {
    note.append('No accuracy study yet: run ', el('code', {}, 'make study'), ' to see the accuracy expected at each size.');
    return;
  }
  const top1 = accuracy[size];
  note.append(top1 === undefined ? 'study 1 did not measure ' + size + ' px.'
    : 'expected top-1 accuracy ' + top1.toFixed(1) + '% (study 1' + (accuracy.smoke ? ', a smoke run of ' + accuracy.n +
      ' pictures: not a real figure' : '') + ').');
}

async function loadAccuracy(files) {
  if (!files.includes('accuracy.csv')) return;
  const res = await fetch('/results/accuracy/accuracy.csv');
  if (!res.ok) return;
  const [head, ...rows] = (await res.text()).trim().split('\n').map((l) => l.split(','));
  const col = (n) => head.indexOf(n);
  accuracy = {};
  for (const r of rows) {
    accuracy[Number(r[col('size')])] = Number(r[col('top1')]);
    accuracy.n = Number(r[col('n')]);
  }
  accuracy.smoke = files.includes('run.txt') && /smoke/.test(await (await fetch('/results/accuracy/run.txt')).text());
}

// ---- the studies, each a figure: plot, caption with date and machine, its tables, its CSVs --------------------
function mdBlock(md) {
  const out = [];
  let table = null;
  const cells = (line) => line.trim().replace(/^\||\|$/g, '').split('|').map((c) => c.trim().replace(/\\\*/g, '*').replace(/\*\*/g, ''));
  for (const line of md.split('\n')) {
    if (line.startsWith('|')) {
      if (!table) { table = el('table'); table.append(el('thead', {}, el('tr', {}, ...cells(line).map((c) => el('th', { scope: 'col' }, c))))); table.append(el('tbody')); out.push(table); }
      else if (!/^\|[-| :]+\|?$/.test(line.trim())) table.tBodies[0].append(el('tr', {}, ...cells(line).map((c) => el('td', {}, c))));
    } else {
      table = null;
      if (line.startsWith('#')) out.push(el('h4', {}, line.replace(/^#+\s*/, '')));
      else if (line.trim()) out.push(el('p', {}, line.replace(/\*\*/g, '')));
    }
  }
  return out;
}

async function text(url) { const r = await fetch(url); return r.ok ? r.text() : ''; }

async function studyFigure(s) {
  const url = (f) => '/results/' + encodeURIComponent(s.name) + '/' + encodeURIComponent(f);
  const fig = el('figure', { className: 'study' });
  const plot = s.files.find((f) => f.endsWith('.svg')) || s.files.find((f) => f.endsWith('.png'));
  if (plot) fig.append(el('img', { src: url(plot), alt: 'plot of the ' + s.name + ' study' }));
  const cap = el('figcaption');
  const about = s.files.includes('run.txt') ? await text(url('run.txt')) : '';
  const field = (k) => (about.match(new RegExp('^' + k + ': (.*)$', 'm')) || [])[1];
  cap.append(el('strong', {}, s.name), ' — ' + (field('date') || 'written ' + new Date(s.modified * 1000).toLocaleString()) +
    (field('machine') ? ', on ' + field('machine') : '') + (field('run') && /smoke/.test(field('run')) ? ' (smoke run: not real figures)' : ''));
  fig.append(cap);
  for (const md of s.files.filter((f) => f.endsWith('.md'))) fig.append(...mdBlock(await text(url(md))));
  const csvs = s.files.filter((f) => f.endsWith('.csv'));
  if (csvs.length) fig.append(el('p', { className: 'downloads' }, 'Data: ', ...csvs.map((f) => el('a', { href: url(f), download: f }, f, ' '))));
  return fig;
}

async function listStudies() {
  const list = $('study-list');
  try {
    const { studies } = await (await fetch('/results/')).json();
    if (!studies.length) {
      list.replaceChildren(el('p', { id: 'no-studies' }, 'No study results yet. Run ', el('code', {}, 'make study'),
        ' (about 5 minutes) to measure accuracy against resolution, round-trip time against size, and load; they appear here.'));
    } else {
      list.replaceChildren(...await Promise.all(studies.map(studyFigure)));
      const acc = studies.find((s) => s.name === 'accuracy');
      if (acc) await loadAccuracy(acc.files);
    }
  } catch (e) {
    list.replaceChildren(el('p', {}, 'Study results are unavailable right now.'));
  }
  sizeNote();
  list.dataset.ready = '1';
}

// ---- examples and the number of workers ----------------------------------------------------------------------
async function listExamples() {
  try {
    const res = await fetch('/examples/');
    if (!res.ok) return;
    const { examples } = await res.json();
    const pics = examples.filter((f) => /\.(jpe?g|png|gif|bmp|webp)$/i.test(f));
    $('example-list').replaceChildren(...pics.map((f) => {
      const src = '/examples/' + encodeURIComponent(f);
      const b = el('button', { type: 'button', className: 'example', title: 'classify ' + f },
        el('img', { src, alt: '', loading: 'lazy' }), el('span', {}, f));
      b.addEventListener('click', async () => {
        const blob = await (await fetch(src)).blob();
        classifyAll([new File([blob], f, { type: blob.type })]);
      });
      return b;
    }));
    $('examples').hidden = !pics.length;
  } catch (e) { /* no examples */ }
}

async function countWorkers() {
  try {
    /* /healthz lists every configured backend; ?backends=N counts from the first of them */
    const backends = (await (await fetch('/healthz')).json()).backends.length;
    $('backends').max = backends;
    $('workers-note').textContent = 'of the service\'s ' + backends + ' workers (empty: all of them)';
  } catch (e) { /* the field keeps no maximum */ }
}

// ---- the live cluster panel: /cluster.json every second while the page is visible -------------------------------
const CLUSTER_MS = 1000;
const ms = (v) => (v ? v.toFixed(v < 10 ? 1 : 0) + ' ms' : '–');

function drawCluster(c) {
  $('cluster-summary').textContent = c.up + ' of ' + c.backends.length + ' workers up · ' +
    c.rate_per_s.toFixed(1) + ' requests/s · policy ' + c.policy;
  $('cluster-table').tBodies[0].replaceChildren(...c.backends.map((b) => {
    const state = b.draining ? 'draining' : b.up ? 'up' : 'down';
    const row = el('tr', {}, el('th', { scope: 'row', textContent: b.name }),
      el('td', { className: 'state', textContent: state }), el('td', { textContent: b.in_flight }),
      el('td', { textContent: b.answered_total }), el('td', { textContent: b.failed_total }),
      el('td', { textContent: ms(b.last_minute.p50_ms) }), el('td', { textContent: ms(b.last_minute.p99_ms) }));
    row.dataset.state = state;
    return row;
  }));
}

async function watchCluster() {
  if (!document.hidden) {
    try {
      const res = await fetch('/cluster.json', { cache: 'no-store' });
      if (!res.ok) throw new Error(res.status);
      drawCluster(await res.json());
      $('cluster').hidden = false;
      $('cluster').dataset.stale = 'false';
    } catch (e) {
      $('cluster').dataset.stale = 'true'; // keeps the last numbers, marked as old
      $('cluster-summary').textContent = 'The balancer does not answer; the numbers below are old.';
    }
  }
  setTimeout(watchCluster, CLUSTER_MS);
}

// ---- wiring ---------------------------------------------------------------------------------------------------------
const input = $('image'), camera = $('camera'), drop = $('drop');
$('choose').addEventListener('click', () => input.click());
$('take').addEventListener('click', () => camera.click());
for (const i of [input, camera]) i.addEventListener('change', () => { classifyAll(i.files); i.value = ''; });
$('upload').addEventListener('submit', (e) => { e.preventDefault(); classifyAll(input.files); });
$('size').addEventListener('change', sizeNote);
$('backends').addEventListener('change', () => {
  const b = $('backends'), n = Number(b.value);
  if (b.value && (!Number.isInteger(n) || n < 1)) b.value = '';
  else if (b.max && n > Number(b.max)) b.value = b.max;
});
['dragenter', 'dragover'].forEach((t) => drop.addEventListener(t, (e) => { e.preventDefault(); drop.classList.add('over'); }));
['dragleave', 'drop'].forEach((t) => drop.addEventListener(t, (e) => { e.preventDefault(); drop.classList.remove('over'); }));
drop.addEventListener('drop', (e) => classifyAll(e.dataTransfer.files));
document.addEventListener('paste', (e) => {
  const files = [...(e.clipboardData ? e.clipboardData.files : [])].filter((f) => f.type.startsWith('image/'));
  if (files.length) { e.preventDefault(); classifyAll(files); }
});

try { historyItems = JSON.parse(sessionStorage.getItem('imgrec-history') || '[]'); } catch (e) { historyItems = []; }
drawHistory();
listExamples();
countWorkers();
listStudies();
watchCluster();
