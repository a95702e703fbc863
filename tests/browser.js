// Drives headless Chromium through the page the way a person would, and prints what the page showed.
//   node browser.js URL IMAGES_DIR SHOTS_DIR
//   node browser.js --cluster URL IMAGES_DIR SHOTS_DIR PID   (the live panel while worker 2, PID, freezes)
// IMAGES_DIR holds test_224.jpg and test_2000.jpg (the seed pictures); screenshots go to SHOTS_DIR.
// Every wait is for a DOM state (a card done or failed, a list filled), bounded by STEP_MS.
// Prints one JSON object {desktop, dark, phone, plain}; exits non-zero with the reason if a step fails.
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const { chromium } = require('playwright-core');

const clusterMode = process.argv[2] === '--cluster';
const [url, images, shots, frozenPid] = process.argv.slice(clusterMode ? 3 : 2);
if (!url || !images || !shots || (clusterMode && !Number(frozenPid))) {
  console.error('usage: node browser.js [--cluster] URL IMAGES_DIR SHOTS_DIR [PID]');
  process.exit(2);
}
fs.mkdirSync(shots, { recursive: true });
const skier = path.join(images, 'test_224.jpg'), big = path.join(images, 'test_2000.jpg');
const FLAGS = ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-quic'];
const STEP_MS = 20000;
const file = (p) => ({ name: path.basename(p), mimeType: 'image/jpeg', buffer: fs.readFileSync(p) });
const notPicture = { name: 'README.md', mimeType: 'text/markdown', buffer: Buffer.from('# not a picture\n') };

async function withPage(options, fn) {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'imgrec-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium', headless: true, args: FLAGS, timeout: STEP_MS, ...options,
  });
  try {
    const page = context.pages()[0] || await context.newPage();
    page.setDefaultTimeout(STEP_MS);
    // What the page uploads: the picture of each /submit form (size, type, name), seen at fetch.
    await page.addInitScript(() => {
      window.sent = [];
      const real = window.fetch;
      window.fetch = (u, o) => {
        const img = o && o.body instanceof FormData ? o.body.get('image') : null;
        if (img) window.sent.push({ bytes: img.size, type: img.type, name: img.name });
        return real(u, o);
      };
    });
    return await fn(page);
  } finally {
    await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

// Waits until the answer area holds n cards, all answered or failed; returns what they show.
async function settled(page, n) {
  await page.waitForFunction((n) => {
    const cards = document.querySelectorAll('#cards .card');
    return cards.length === n && [...cards].every((c) => c.dataset.state !== 'busy');
  }, n);
  return page.$$eval('#cards .card', (cards) => cards.map((c) => ({
    state: c.dataset.state,
    answer: c.querySelector('.answer').textContent,
    top5: [...c.querySelectorAll('.top5 li .text')].map((t) => t.textContent),
    meta: (c.querySelector('.meta') || {}).textContent || '',
    error: (c.querySelector('.error') || {}).textContent || '',
  })));
}

// Whether the answer area's top is inside the viewport (it scrolls there by itself).
const inView = (page) => page.waitForFunction(() => {
  const r = document.getElementById('answers').getBoundingClientRect();
  return r.top >= -1 && r.top < window.innerHeight;
}).then(() => true);

async function desktop(page) {
  const out = {};
  await page.goto(url);
  await page.waitForSelector('#study-list[data-ready]');
  await page.waitForSelector('#examples:not([hidden]) .example');
  out.studies = await page.$$eval('#study-list figure', (fs) => fs.map((f) => ({
    caption: f.querySelector('figcaption').textContent,
    plot: !!f.querySelector('img'),
    cells: [...f.querySelectorAll('td')].slice(0, 8).map((td) => td.textContent),
    csv: [...f.querySelectorAll('a[download]')].map((a) => a.getAttribute('href')),
  })));
  out.sizeNote224 = await page.textContent('#size-note');
  out.workersNote = await page.textContent('#workers-note');

  // A picture, then something that is not one: the error replaces the answer.
  await page.setInputFiles('#image', skier);
  out.first = await settled(page, 1);
  out.firstInView = await inView(page);
  await page.screenshot({ path: path.join(shots, 'desktop-answer.png') });
  await page.setInputFiles('#image', notPicture);
  out.afterError = await settled(page, 1);
  await page.screenshot({ path: path.join(shots, 'desktop-error.png') });

  // Several at once, one a WebP the browser makes here: a grid, the WebP re-encoded to JPEG.
  const webp = Buffer.from(await page.evaluate(async () => {
    const bmp = await createImageBitmap(await (await fetch('/examples/test_224.jpg')).blob());
    const c = Object.assign(document.createElement('canvas'), { width: bmp.width, height: bmp.height });
    c.getContext('2d').drawImage(bmp, 0, 0);
    const blob = await new Promise((ok) => c.toBlob(ok, 'image/webp', 0.9));
    return [...new Uint8Array(await blob.arrayBuffer())];
  }));
  await page.evaluate(() => { window.sent.length = 0; });
  await page.setInputFiles('#image', [{ name: 'skier.webp', mimeType: 'image/webp', buffer: webp }, file(skier), file(big)]);
  out.grid = await settled(page, 3);
  out.gridSent = await page.evaluate(() => window.sent);
  out.gridIsGrid = await page.$eval('#cards', (c) => c.className === 'grid');
  await page.screenshot({ path: path.join(shots, 'desktop-grid.png') });

  // The upload size: 64 px sends far fewer bytes than the original, and says what study 1 expects.
  await page.selectOption('#size', '64');
  out.sizeNote64 = await page.textContent('#size-note');
  await page.evaluate(() => { window.sent.length = 0; });
  await page.setInputFiles('#image', big);
  out.small = await settled(page, 1);
  await page.selectOption('#size', '0');
  await page.setInputFiles('#image', big);
  out.original = await settled(page, 1);
  out.sizeSent = await page.evaluate(() => window.sent);
  await page.selectOption('#size', '224');

  // Paste from the clipboard, then an example picture.
  await page.evaluate(async () => {
    const blob = await (await fetch('/examples/test_224.jpg')).blob();
    const dt = new DataTransfer();
    dt.items.add(new File([blob], 'pasted.jpg', { type: 'image/jpeg' }));
    document.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true }));
  });
  out.pasted = await settled(page, 1);
  await page.click('.example[title="classify test_224.jpg"]');
  await page.waitForFunction(() => document.querySelector('#cards .card').textContent.includes('test_224.jpg'));
  out.example = await settled(page, 1);
  out.history = await page.$$eval('#history-list li', (l) => l.length);
  out.curl = await page.textContent('#curl');
  out.json = (await page.textContent('#json')).slice(0, 40);
  await page.click('#code summary');
  await page.screenshot({ path: path.join(shots, 'desktop-full.png'), fullPage: true });
  return out;
}

async function dark(page) {
  await page.goto(url);
  await page.setInputFiles('#image', skier);
  const cards = await settled(page, 1);
  await page.waitForSelector('#study-list[data-ready]');
  const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  await page.screenshot({ path: path.join(shots, 'dark.png'), fullPage: true });
  return { background, cards };
}

async function phone(page) {
  await page.goto(url);
  const takePhoto = await page.isVisible('#take');
  const hint = await page.textContent('#drop-hint');
  const hintVisible = await page.$$eval('#drop-hint span', (s) => s.filter((e) => e.offsetParent).map((e) => e.textContent));
  await page.setInputFiles('#image', skier);
  const cards = await settled(page, 1);
  const answerInView = await inView(page);
  await page.screenshot({ path: path.join(shots, 'phone-answer.png') });
  await page.screenshot({ path: path.join(shots, 'phone-full.png'), fullPage: true });
  return { takePhoto, hint, hintVisible, cards, answerInView };
}

// Without JavaScript: the plain form posts; the answer and an error each come back as a page.
async function plain(page) {
  await page.goto(url);
  await page.setInputFiles('#image', skier);
  await Promise.all([page.waitForNavigation(), page.click('#submit')]);
  const answer = await page.textContent('#answer');
  const bars = await page.$$eval('#top5 li', (items) => items.length);
  const icon = await page.getAttribute('link[rel=icon]', 'href');
  await page.screenshot({ path: path.join(shots, 'nojs-answer.png'), fullPage: true });
  await page.goto(url);
  await page.setInputFiles('#image', notPicture);
  const [res] = await Promise.all([page.waitForNavigation(), page.click('#submit')]);
  const error = { status: res.status(), type: res.headers()['content-type'], heading: await page.textContent('h2'),
    text: await page.textContent('#error'), back: await page.getAttribute('a', 'href') };
  await page.screenshot({ path: path.join(shots, 'nojs-error.png'), fullPage: true });
  return { url: page.url(), answer, bars, icon, error };
}

// The live panel: two workers up and answering; worker 2 frozen (SIGSTOP) reads as down within a few
// probes, and up again after SIGCONT.  Returns the rows seen at each step.
async function cluster(page) {
  const rows = () => page.$$eval('#cluster-table tbody tr', (trs) => trs.map((tr) => ({
    state: tr.dataset.state, cells: [...tr.children].map((td) => td.textContent) })));
  const stateOf = (n, want) => page.waitForFunction(([n, want]) => {
    const tr = document.querySelectorAll('#cluster-table tbody tr')[n];
    return tr && tr.dataset.state === want;
  }, [n, want]);
  await page.goto(url);
  await page.waitForSelector('#cluster:not([hidden])');
  await stateOf(0, 'up');
  await stateOf(1, 'up');
  await page.evaluate(async () => {
    const blob = await (await fetch('/examples/test_224.jpg')).blob();
    for (let i = 0; i < 8; i++) {
      const form = new FormData();
      form.append('image', blob, 'test_224.jpg');
      await fetch('/submit', { method: 'POST', body: form });
    }
  });
  await page.waitForFunction(() => [...document.querySelectorAll('#cluster-table tbody tr')]
    .reduce((n, tr) => n + Number(tr.children[3].textContent), 0) >= 8);
  const out = { before: await rows(), summary: await page.textContent('#cluster-summary') };
  await page.screenshot({ path: path.join(shots, 'cluster-up.png'), fullPage: true });
  let t = Date.now();
  process.kill(Number(frozenPid), 'SIGSTOP');
  try {
    await stateOf(1, 'down');
    out.downAfterMs = Date.now() - t;
    out.down = await rows();
    out.downSummary = await page.textContent('#cluster-summary');
    await page.screenshot({ path: path.join(shots, 'cluster-down.png'), fullPage: true });
  } finally {
    process.kill(Number(frozenPid), 'SIGCONT');
  }
  t = Date.now();
  await stateOf(1, 'up');
  out.upAfterMs = Date.now() - t;
  out.after = await rows();
  await page.screenshot({ path: path.join(shots, 'cluster-back.png'), fullPage: true });
  return out;
}

(async () => {
  const result = {};
  if (clusterMode) {
    result.cluster = await withPage({ viewport: { width: 1280, height: 800 } }, cluster);
    console.log(JSON.stringify(result));
    return;
  }
  result.desktop = await withPage({ viewport: { width: 1280, height: 800 } }, desktop);
  result.dark = await withPage({ viewport: { width: 1280, height: 800 }, colorScheme: 'dark' }, dark);
  result.phone = await withPage({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true }, phone);
  result.plain = await withPage({ javaScriptEnabled: false }, plain);
  console.log(JSON.stringify(result));
})().catch((err) => {
  console.error('browser test failed:', err && err.message ? err.message : err);
  process.exit(1);
});
