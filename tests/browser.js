// Drives headless Chromium through the page the way a person would, and prints what the page shows.
//   node browser.js URL IMAGE [SCREENSHOT.png]
// 1. With JavaScript: choose IMAGE, click Classify, wait for the top-5 bars and the study list;
//    print {answer, top5, meta, studies}.
// 2. Without JavaScript: the same plain HTML form posts to /submit; the worker answers the browser with
//    an HTML page; print {url, answer, bars, meta} read off it.
// Exits non-zero (with the reason on stderr) if any step fails.
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const { chromium } = require('playwright-core');

const [url, image, screenshot] = process.argv.slice(2);
if (!url || !image) {
  console.error('usage: node browser.js URL IMAGE [SCREENSHOT.png]');
  process.exit(2);
}

const FLAGS = ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-quic'];
const STEP_MS = 20000;

async function withBrowser(javaScriptEnabled, fn) {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'imgrec-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium', headless: true, args: FLAGS, javaScriptEnabled, timeout: STEP_MS,
  });
  try {
    const page = context.pages()[0] || await context.newPage();
    page.setDefaultTimeout(STEP_MS);
    return await fn(page);
  } finally {
    await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

async function withScript(page) {
  await page.goto(url);
  await page.setInputFiles('#image', image);
  await page.waitForSelector('#preview:not([hidden])');
  await page.click('#submit');
  await page.waitForSelector('#result:not([hidden]), #error:not([hidden])');
  const error = await page.$eval('#error', (e) => (e.hidden ? '' : e.textContent));
  if (error) throw new Error('the page shows an error: ' + error);
  const answer = await page.textContent('#answer');
  const top5 = await page.$$eval('#top5 li', (items) => items.map((li) => ({
    text: li.querySelector('.text').textContent,
    bar: li.querySelector('.bar').style.width,
  })));
  const meta = await page.textContent('#meta');
  await page.waitForSelector('#study-list li');
  const studies = await page.$$eval('#study-list li', (items) => items.map((li) => ({
    text: li.querySelector('strong').textContent,
    links: [...li.querySelectorAll('a')].map((a) => a.getAttribute('href')),
  })));
  if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });
  return { answer, top5, meta, studies };
}

async function withoutScript(page) {
  await page.goto(url);
  await page.setInputFiles('#image', image);
  await Promise.all([page.waitForNavigation(), page.click('#submit')]);
  const answer = await page.textContent('#answer');
  const bars = await page.$$eval('#top5 li', (items) => items.length);
  const meta = await page.textContent('#meta');
  if (screenshot) await page.screenshot({ path: screenshot.replace(/\.png$/, '-plain.png'), fullPage: true });
  return { url: page.url(), answer, bars, meta };
}

(async () => {
  const scripted = await withBrowser(true, withScript);
  const plain = await withBrowser(false, withoutScript);
  console.log(JSON.stringify({ scripted, plain }));
})().catch((err) => {
  console.error('browser test failed:', err && err.message ? err.message : err);
  process.exit(1);
});
