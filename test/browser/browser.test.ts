// The browser example (examples/browser/) in headless Chromium, against the built package (dist/):
// the page must show the same top 5 as the Node API for the same bytes, explain files that are not
// images, and log no errors. Run with `npm run test:browser` after `npm run build`; needs Chromium
// (Debian: apt-get install chromium; elsewhere set CHROMIUM_PATH). Leaves screenshots in test/artifacts/.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type JSHandle, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type StaticServer } from '../../examples/browser/serve.mjs';
import type { Classifier, Prediction } from '../../src/node.js';
import { loadClassifier } from '../../src/node.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const IMAGES = `${ROOT}test/fixtures/images/`;
const ARTIFACTS = `${ROOT}test/artifacts/`;
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
/** Bound on every single browser operation (launch, navigation, each wait). */
const TIMEOUT = 30_000;

/** What the page stores in `window.__lastResult` after each classification. */
interface PageResult {
  file: string;
  model: string;
  ms: number;
  decoder: 'squeezewasm' | 'browser';
  top: Prediction[];
  probabilities: number[];
}

/** How a classification ended, as the page shows it. */
interface Outcome {
  state: string;
  error: string;
  result: PageResult | undefined;
}

let server: StaticServer | undefined;
let browser: Browser | undefined;
let page: Page;
let net: Classifier;
/** Console errors, uncaught exceptions and failed requests of the page since the last check. */
const problems: string[] = [];

beforeAll(async () => {
  for (const file of ['dist/browser.js', 'dist/index.js', 'dist/squeezewasm.wasm']) {
    if (!existsSync(ROOT + file)) throw new Error(`${file} is missing: run \`npm run build\` before \`npm run test:browser\``);
  }
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: install it (Debian: apt-get install chromium) or set CHROMIUM_PATH`);
  net = await loadClassifier();
  server = await startServer({ root: ROOT, port: 0 });
  // Playwright gives each launch a fresh temporary profile (--user-data-dir) and deletes it on close.
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    timeout: TIMEOUT,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  page = await browser.newPage({ viewport: { width: 900, height: 720 } });
  page.setDefaultTimeout(TIMEOUT);
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console.error: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`uncaught: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ''}`));
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`);
  });

  await page.goto(`${server.url}/examples/browser/`, { timeout: TIMEOUT });
  await page.waitForFunction(() => document.body.dataset.state !== 'loading', undefined, { timeout: TIMEOUT });
  const state = await page.evaluate(() => ({ state: document.body.dataset.state, error: document.getElementById('error')?.textContent }));
  expect(state, 'the model should load').toEqual({ state: 'ready', error: '' });
  expect(await page.locator('#status').textContent()).toMatch(/^Model squeezenet1\.1-int8 ready/);
}, 90_000);

afterEach(() => {
  const seen = problems.splice(0);
  expect(seen, 'console errors, uncaught exceptions or failed requests in the page').toEqual([]);
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  net?.dispose();
});

/** Marks the page as pending, runs `trigger` (which hands the page a file), and waits for the outcome. */
async function classifyInPage(trigger: () => Promise<unknown>): Promise<Outcome> {
  await page.evaluate(() => {
    delete (window as unknown as { __lastResult?: unknown }).__lastResult;
    document.body.dataset.state = 'pending';
  });
  await trigger();
  await page.waitForFunction(() => ['done', 'error'].includes(document.body.dataset.state ?? ''), undefined, { timeout: TIMEOUT });
  return page.evaluate(() => ({
    state: document.body.dataset.state ?? '',
    error: document.getElementById('error')?.textContent ?? '',
    result: (window as unknown as { __lastResult?: PageResult }).__lastResult,
  }));
}

/** Drops a file made inside the page on the drop zone, as a drag and drop from the desktop does. */
async function dropInPage(file: JSHandle<File>): Promise<Outcome> {
  return classifyInPage(async () => {
    const dataTransfer = await page.evaluateHandle((f) => {
      const dt = new DataTransfer();
      dt.items.add(f);
      return dt;
    }, file);
    await page.dispatchEvent('#drop', 'drop', { dataTransfer });
  });
}

/** The Node API's answer for the same file. */
function nodeTop(file: string): { top: Prediction[]; probabilities: Float32Array } {
  return net.classifySync(new Uint8Array(readFileSync(IMAGES + file)), { top: 5 });
}

/** Checks that the page's raw result and its rendering equal the Node API's for `file`. */
async function expectSameAsNode(result: PageResult | undefined, file: string): Promise<void> {
  const want = nodeTop(file);
  expect(result).toBeDefined();
  const got = result!;
  expect(got.file).toBe(file);
  expect(got.model).toBe('squeezenet1.1-int8');
  expect(got.decoder).toBe('squeezewasm');
  expect(got.top.map((p) => [p.index, p.label])).toEqual(want.top.map((p) => [p.index, p.label]));
  got.top.forEach((p, i) => expect(p.probability).toBeCloseTo(want.top[i].probability, 6));
  expect(got.probabilities).toHaveLength(want.probabilities.length);
  const maxDiff = got.probabilities.reduce((m, p, i) => Math.max(m, Math.abs(p - want.probabilities[i])), 0);
  expect(maxDiff).toBeLessThan(1e-6);

  // What is on screen: five rows, the same labels, percentages and bars that match the numbers.
  const rows = await page.$$eval('#top > li', (items) =>
    items.map((li) => ({
      index: Number((li as HTMLElement).dataset.index),
      probability: Number((li as HTMLElement).dataset.probability),
      label: li.querySelector('.label')?.textContent,
      pct: li.querySelector('.pct')?.textContent,
      bar: (li.querySelector('.bar > span') as HTMLElement | null)?.style.width,
    })),
  );
  expect(rows.map((r) => [r.index, r.label])).toEqual(want.top.map((p) => [p.index, p.label]));
  rows.forEach((r, i) => {
    expect(r.probability).toBeCloseTo(want.top[i].probability, 6);
    expect(r.pct).toBe(r.probability >= 0.0005 ? `${(r.probability * 100).toFixed(1)} %` : '< 0.1 %');
    expect(r.bar).toMatch(/%$/);
    expect(Number.parseFloat(r.bar ?? '')).toBeCloseTo(r.probability * 100, 2);
  });
  expect(await page.locator('#timing').textContent()).toMatch(/^\d+\.\d ms \(decode, resize and inference\) with squeezenet1\.1-int8$/);
  expect(await page.locator('#filename').textContent()).toBe(file);
  // The preview shows the image.
  await page.waitForFunction(() => {
    const img = document.getElementById('preview') as HTMLImageElement;
    return img.complete && img.naturalWidth > 0;
  }, undefined, { timeout: TIMEOUT });
  expect(await page.locator('#result').isVisible()).toBe(true);
  expect(await page.locator('#error').textContent()).toBe('');
}

describe('browser example (examples/browser)', () => {
  it('classifies a JPEG chosen with the file input exactly like the Node API', async () => {
    const file = 'n02510455_giant_panda.jpg';
    const outcome = await classifyInPage(() => page.setInputFiles('#file', IMAGES + file));
    expect(outcome.error).toBe('');
    expect(outcome.state).toBe('done');
    expect(outcome.result?.top[0].label).toBe('giant panda');
    await expectSameAsNode(outcome.result, file);
    expect(await page.locator('#status').textContent()).toMatch(/^n02510455_giant_panda\.jpg: giant panda, \d+\.\d %\.$/);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: `${ARTIFACTS}browser.png`, fullPage: true, timeout: TIMEOUT });
  });

  it('classifies a PNG dropped on the page exactly like the Node API', async () => {
    const file = 'n01614925_bald_eagle.png';
    const url = `/test/fixtures/images/${file}`;
    const handle = await page.evaluateHandle(
      async ({ url, file }) => new File([await (await fetch(url)).blob()], file, { type: 'image/png' }),
      { url, file },
    );
    const outcome = await dropInPage(handle);
    expect(outcome.error).toBe('');
    expect(outcome.result?.top[0].label).toBe('bald eagle');
    await expectSameAsNode(outcome.result, file);
  });

  it('classifies a WebP, which only the browser can decode', async () => {
    const webp = await page.evaluateHandle(async () => {
      const bitmap = await createImageBitmap(await (await fetch('/test/fixtures/images/n02510455_giant_panda.jpg')).blob());
      const canvas = document.createElement('canvas');
      canvas.width = bitmap.width;
      canvas.height = bitmap.height;
      canvas.getContext('2d')!.drawImage(bitmap, 0, 0);
      const blob = await new Promise<Blob | null>((resolve) => canvas.toBlob(resolve, 'image/webp', 0.95));
      if (!blob || blob.type !== 'image/webp') throw new Error('this browser cannot encode WebP');
      return new File([blob], 'panda.webp', { type: 'image/webp' });
    });
    const outcome = await dropInPage(webp);
    expect(outcome.error).toBe('');
    expect(outcome.result).toMatchObject({ file: 'panda.webp', decoder: 'browser' });
    expect(outcome.result?.top[0].label).toBe('giant panda');
    expect(await page.locator('#timing').textContent()).toMatch(/decoded by the browser/);
  });

  it('is usable with the keyboard: Tab reaches the labelled file input, which shows focus and opens with Enter or Space', async () => {
    const input = page.getByLabel('Choose an image…');
    expect(await input.getAttribute('id')).toBe('file');
    for (const key of ['Enter', ' ']) {
      // Clicking the top left corner moves the sequential focus starting point before everything.
      await page.mouse.click(2, 2);
      await page.evaluate(() => {
        const w = window as unknown as { __activated: boolean };
        w.__activated = false;
        // Activating a file input "clicks" it, which is what opens the file chooser. (Whether
        // Playwright then reports a chooser is flaky in headless Chromium, so that is not checked.)
        document.getElementById('file')!.addEventListener('click', () => (w.__activated = true), { once: true });
      });
      await page.keyboard.press('Tab');
      expect(await page.evaluate(() => document.activeElement?.id)).toBe('file');
      expect(await page.locator('#drop').evaluate((drop) => getComputedStyle(drop).outlineStyle)).toBe('solid');
      await page.keyboard.press(key);
      await page.waitForFunction(() => (window as unknown as { __activated: boolean }).__activated, undefined, { timeout: TIMEOUT });
    }
  });

  it('says clearly that a file which is not an image is not one', async () => {
    const outcome = await classifyInPage(() =>
      page.setInputFiles('#file', { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('these are not pixels\n') }),
    );
    expect(outcome.state).toBe('error');
    expect(outcome.result).toBeUndefined();
    expect(outcome.error).toBe('“notes.txt” is not an image. Choose a JPEG or PNG file.');
    expect(await page.locator('#error').getAttribute('role')).toBe('alert');
    expect(await page.locator('#error').isVisible()).toBe(true);
    expect(await page.locator('#result').isVisible()).toBe(false);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: `${ARTIFACTS}browser-error.png`, fullPage: true, timeout: TIMEOUT });

    // The page recovers: the next image is classified again.
    const next = await classifyInPage(() => page.setInputFiles('#file', IMAGES + 'n02917067_bullet_train.jpg'));
    expect(next.state).toBe('done');
    expect(await page.locator('#error').textContent()).toBe('');
    await expectSameAsNode(next.result, 'n02917067_bullet_train.jpg');
  });

  it('shows a loading state, then says so if the model cannot be fetched', async () => {
    const other = await browser!.newPage();
    let release = (): void => {};
    try {
      other.setDefaultTimeout(TIMEOUT);
      const held = new Promise<void>((resolve) => (release = resolve));
      await other.route('**/*.sqz', async (route) => {
        await held;
        await route.fulfill({ status: 404, body: 'gone' });
      });
      await other.goto(`${server!.url}/examples/browser/`, { timeout: TIMEOUT });
      expect(await other.locator('body').getAttribute('data-state')).toBe('loading');
      expect(await other.locator('#status').textContent()).toBe('Loading the model…');
      release();
      await other.waitForFunction(() => document.body.dataset.state === 'error', undefined, { timeout: TIMEOUT });
      expect(await other.locator('#error').textContent()).toMatch(
        /^The model could not be loaded: cannot fetch http:\/\/127\.0\.0\.1:\d+\/weights\/squeezenet1\.1-int8\.sqz: HTTP 404$/,
      );
    } finally {
      release();
      await other.close();
    }
  });

  it('refuses paths outside the served directory', async () => {
    for (const path of ['/..%2f..%2fetc%2fpasswd', '/dist/..%5c..%5c..%5cetc%5cpasswd']) {
      expect((await fetch(`${server!.url}${path}`)).status, path).toBe(403);
    }
    expect((await fetch(`${server!.url}/.git/config`)).status).toBe(404);
    const wasm = await fetch(`${server!.url}/dist/squeezewasm.wasm`);
    expect(wasm.headers.get('content-type')).toBe('application/wasm');
    await wasm.arrayBuffer();
  });
});
