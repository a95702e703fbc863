// The page's behaviour: preview, drag-and-drop, submit with fetch, draw the top-5, list study results.
// Without JavaScript the form still posts to /submit and the worker answers with an HTML result page
// (it sees the browser's Accept: text/html); fetch asks for JSON.
'use strict';

const $ = (id) => document.getElementById(id);
const form = $('upload'), input = $('image'), drop = $('drop'), preview = $('preview');

function show(el, on) { el.hidden = !on; }

function showPreview(file) {
  if (!file) { show(preview, false); return; }
  if (preview.src) URL.revokeObjectURL(preview.src);
  preview.src = URL.createObjectURL(file);
  show(preview, true);
  $('drop-hint').textContent = file.name;
}

input.addEventListener('change', () => showPreview(input.files[0]));

['dragenter', 'dragover'].forEach((t) => drop.addEventListener(t, (e) => {
  e.preventDefault();
  drop.classList.add('over');
}));
['dragleave', 'drop'].forEach((t) => drop.addEventListener(t, (e) => {
  e.preventDefault();
  drop.classList.remove('over');
}));
drop.addEventListener('drop', (e) => {
  if (!e.dataTransfer.files.length) return;
  input.files = e.dataTransfer.files;
  showPreview(input.files[0]);
});

function percent(p) { return (100 * p).toFixed(1) + '%'; }

function renderResult(r, rttMs) {
  $('answer').textContent = r.label + ' (' + percent(r.prob) + ')';
  const list = $('top5');
  list.replaceChildren();
  for (const c of r.top5) {
    const li = document.createElement('li');
    const bar = document.createElement('span');
    bar.className = 'bar';
    bar.style.width = percent(c.prob);
    const text = document.createElement('span');
    text.className = 'text';
    const name = document.createElement('span');
    name.textContent = c.label;
    const p = document.createElement('span');
    p.textContent = percent(c.prob);
    text.append(name, p);
    li.append(bar, text);
    list.append(li);
  }
  const t = r.timing_ms || {};
  $('meta').textContent = 'answered by ' + r.worker + ' · round trip ' + rttMs.toFixed(0) + ' ms' +
    ' · inference ' + Number(t.inference || 0).toFixed(0) + ' ms';
  show($('result'), true);
}

function showError(text) {
  $('error').textContent = text;
  show($('error'), true);
}

form.addEventListener('submit', async (e) => {
  e.preventDefault();
  if (!input.files.length) { showError('Choose an image first.'); return; }
  const data = new FormData(form);
  if (!$('backends').value) data.delete('number_backend_servers');
  show($('error'), false);
  $('submit').disabled = true;
  const start = performance.now();
  try {
    const res = await fetch('/submit', { method: 'POST', body: data, headers: { Accept: 'application/json' } });
    const body = await res.json();
    const rtt = performance.now() - start;
    if (!res.ok) showError('Error ' + res.status + ': ' + (body.detail || body.error || 'request failed'));
    else renderResult(body, rtt);
  } catch (err) {
    showError('Request failed: ' + err.message);
  } finally {
    $('submit').disabled = false;
  }
});

// /results/ answers {"studies":[{"name":..., "files":[...]}]}, newest study first.
async function listStudies() {
  const list = $('study-list');
  try {
    const res = await fetch('/results/');
    if (!res.ok) return;
    const { studies } = await res.json();
    if (!studies.length) { $('studies-hint').textContent = 'No study results yet.'; return; }
    for (const s of studies) {
      const li = document.createElement('li');
      const title = document.createElement('strong');
      title.textContent = s.name + ': ';
      li.append(title);
      for (const f of s.files) {
        const href = '/results/' + encodeURIComponent(s.name) + '/' + encodeURIComponent(f);
        const a = document.createElement('a');
        a.href = href;
        a.textContent = f;
        li.append(a, ' ');
      }
      // The plots themselves, inline: SVG where a study made one, else its PNG.
      const svgs = s.files.filter((f) => f.endsWith('.svg'));
      for (const plot of svgs.length ? svgs : s.files.filter((f) => f.endsWith('.png'))) {
        const img = document.createElement('img');
        img.src = '/results/' + encodeURIComponent(s.name) + '/' + encodeURIComponent(plot);
        img.alt = s.name + ' plot';
        li.append(img);
      }
      list.append(li);
    }
  } catch (err) {
    $('studies-hint').textContent = 'Study results unavailable: ' + err.message;
  }
}

listStudies();
