import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ReadableStream } from 'node:stream/web';
import { fileURLToPath } from 'node:url';
import jpegJs from 'jpeg-js';
import type { Miniflare, Response as MiniflareResponse } from 'miniflare';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { upscale } from '../../bench/photos.js';
import { buildWorker, measureWorker, startWorker, WORKER_GZIP_BUDGET, type WorkerBundle } from '../../bench/worker-size.js';
import { withCodec } from '../../src/image/codec.js';
import type { Prediction } from '../../src/node.js';
import { decodeImage, loadClassifier } from '../../src/node.js';

// examples/worker bundled as wrangler deploys it, running in workerd, compared with the Node API.
const imagesDir = fileURLToPath(new URL('../fixtures/images/', import.meta.url));
const images = readdirSync(imagesDir)
  .sort()
  .map((file) => ({ file, bytes: new Uint8Array(readFileSync(join(imagesDir, file))) }));
const panda = images.find((i) => i.file === 'n02510455_giant_panda.jpg')!;

/** examples/worker/src/index.ts's image limits. */
const WORKER_LIMITS = { maxImagePixels: 12_600_000, maxImageSide: 8192, maxImageBytes: 8 * 1024 * 1024 };
/**
 * Most memory the decoder instance may reach on the phone photo: its 1.1 MB file and the
 * coefficients and pixels of a 1/8-scale decode (examples/worker/README.md, Limits).
 */
const PHOTO_DECODE_BUDGET = 16 * 2 ** 20;

/** A phone-size photo: the panda upscaled to 4032x3024 (12.2 MP) and encoded as a quality-90 JPEG. */
function phonePhoto(): Uint8Array {
  const small = decodeImage(panda.bytes);
  const rgb = upscale(small, 4032, 3024);
  const rgba = new Uint8Array(4032 * 3024 * 4).fill(255);
  for (let i = 0, j = 0; i < rgb.length; i += 3, j += 4) rgba.set(rgb.subarray(i, i + 3), j);
  return new Uint8Array(jpegJs.encode({ data: rgba, width: 4032, height: 3024 }, 90).data);
}

interface Answer {
  top: Prediction[];
  model: string;
  ms: number;
}
interface ErrorAnswer {
  error: { code: string; message: string };
}

let dir = '';
let bundle: WorkerBundle;
let mf: Miniflare;
/** workerd's address, for requests dispatchFetch cannot make. */
let url: URL;
const expected = new Map<string, Prediction[]>();
let photo: Uint8Array;
let photoTop: Prediction[];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'squeezewasm-worker-'));
  bundle = await buildWorker(dir);
  mf = startWorker(bundle);
  const net = await loadClassifier('squeezenet1.1-int8');
  for (const { file, bytes } of images) expected.set(file, net.classifySync(bytes, { top: 5 }).top);
  photo = phonePhoto();
  photoTop = net.classifySync(photo, { top: 5 }).top;
  net.dispose();
  url = await mf.ready;
}, 60_000);

afterAll(async () => {
  await mf?.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const post = (body: Uint8Array | null, headers: Record<string, string> = {}) => mf.dispatchFetch('http://worker/', { method: 'POST', body, headers });

/** The Worker's top 5 matches the Node API's: same classes in the same order, probabilities within 1e-6. */
function expectSameTop(actual: Prediction[], want: Prediction[]): void {
  expect(actual.map((p) => [p.index, p.label])).toEqual(want.map((p) => [p.index, p.label]));
  for (let i = 0; i < want.length; i++) expect(Math.abs(actual[i].probability - want[i].probability)).toBeLessThanOrEqual(1e-6);
}

async function expectError(res: MiniflareResponse, status: number, code: string): Promise<void> {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  const body = (await res.json()) as ErrorAnswer;
  expect(body.error.code).toBe(code);
  expect(body.error.message).toEqual(expect.any(String));
}

describe('the Cloudflare Worker example in workerd', () => {
  it('uploads the wasm as a compiled module and the model as data, within the size budget', () => {
    expect(bundle.modules.map((m) => [m.type, m.name.replace(/^[0-9a-f]{40}-/, '')])).toEqual([
      ['ESModule', 'index.js'],
      ['CompiledWasm', 'squeezewasm.wasm'],
      ['Data', 'squeezenet1.1-int8.sqz'],
    ]);
    expect(measureWorker(bundle).gzip).toBeLessThanOrEqual(WORKER_GZIP_BUDGET);
  });

  it('answers GET with usage text', async () => {
    const res = await mf.dispatchFetch('http://worker/');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await res.text()).toMatch(/POST a JPEG or PNG/);
  });

  // First to reach the isolate, so they also race to create its one classifier.
  it('gives each of 24 concurrent requests its own answer', async () => {
    const burst = Array.from({ length: 24 }, (_, i) => images[i % images.length]);
    const answers = await Promise.all(
      burst.map(async (image) => {
        const res = await post(image.bytes);
        expect(res.status).toBe(200);
        return (await res.json()) as Answer;
      }),
    );
    answers.forEach((a, i) => expectSameTop(a.top, expected.get(burst[i].file)!));
  });

  // Streamed bodies hold every request open inside the isolate until all have started, then finish
  // in shuffled order: classify() calls on the one shared classifier land while other requests are
  // mid-body or mid-classification, and refused requests among them must not disturb the rest.
  it('gives each of 8 overlapping streamed requests its own answer, with refused ones in flight beside them', async () => {
    const noise = new Uint8Array(2048).fill(7);
    const requests = [
      ...[0, 1, 2, 3, 4, 5, 0, 3].map((k) => ({ bytes: images[k].bytes, file: images[k].file, status: 200, code: '' })),
      { bytes: panda.bytes.slice(0, panda.bytes.length >> 1), file: '', status: 422, code: 'E_IMAGE_DECODE' },
      { bytes: noise, file: '', status: 415, code: 'E_IMAGE_FORMAT' },
    ];
    // A fixed permutation: request i sends the rest of its body after finishing[i] x 15 ms.
    const finishing = [6, 2, 9, 0, 4, 8, 1, 7, 3, 5];
    let started = 0;
    let release!: () => void;
    const allStarted = new Promise<void>((resolve) => (release = resolve));
    const body = (bytes: Uint8Array, i: number): ReadableStream<Uint8Array> => {
      const size = Math.ceil(bytes.length / 4);
      let offset = 0;
      return new ReadableStream<Uint8Array>({
        async pull(controller) {
          if (offset === size) {
            if (++started === requests.length) release();
            await allStarted;
            await new Promise((resolve) => setTimeout(resolve, finishing[i] * 15));
          }
          if (offset >= bytes.length) return controller.close();
          controller.enqueue(bytes.slice(offset, offset + size));
          offset += size;
        },
      });
    };
    const responses = await Promise.all(
      requests.map(async (r, i) => {
        const res = await mf.dispatchFetch('http://worker/', { method: 'POST', body: body(r.bytes, i), duplex: 'half' });
        return { status: res.status, body: (await res.json()) as Answer & ErrorAnswer };
      }),
    );
    expect(started).toBe(requests.length);
    responses.forEach((res, i) => {
      const want = requests[i];
      expect(res.status, `request ${i}`).toBe(want.status);
      if (want.status === 200) expectSameTop(res.body.top, expected.get(want.file)!);
      else expect(res.body.error.code, `request ${i}`).toBe(want.code);
    });
  });

  it('classifies a POSTed JPEG exactly as the Node API does', async () => {
    const res = await post(panda.bytes);
    expect(res.status).toBe(200);
    const body = (await res.json()) as Answer;
    expect(body.model).toBe('squeezenet1.1-int8');
    expect(body.ms).toEqual(expect.any(Number));
    expect(body.top).toHaveLength(5);
    expect(body.top[0].label).toBe('giant panda');
    const p = body.top.map((t) => t.probability);
    for (let i = 1; i < p.length; i++) expect(p[i]).toBeLessThanOrEqual(p[i - 1]);
    expect(p.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(1);
    expectSameTop(body.top, expected.get(panda.file)!);
  });

  it('classifies a 12 MP phone photo as the Node API does, with the small original\'s top-1', async () => {
    expect(photo.length).toBeLessThanOrEqual(WORKER_LIMITS.maxImageBytes);
    const res = await post(photo);
    expect(res.status).toBe(200);
    const body = (await res.json()) as Answer;
    expectSameTop(body.top, photoTop);
    expect(body.top[0].label).toBe(expected.get(panda.file)![0].label);
  });

  // Miniflare does not report an isolate's memory, so the decode runs here, in the same wasm the
  // Worker uses, and the decoder instance's memory is measured: the instance is kept after a decode
  // only if it stayed under its keep limit, so an unchanged instance shows the growth is all there is.
  it('decodes the phone photo within its budget of decoder memory, beside the model\'s', () => {
    const before = withCodec('JPEG', (mem) => mem.exports);
    const image = decodeImage(photo, WORKER_LIMITS, { minShortSide: 256 });
    expect([image.width, image.height]).toEqual([504, 378]);
    const after = withCodec('JPEG', (mem) => mem.exports);
    expect(after).toBe(before);
    expect(after.memory.buffer.byteLength).toBeLessThanOrEqual(PHOTO_DECODE_BUDGET);
  });

  it('refuses an empty body with 400', async () => {
    await expectError(await post(null), 400, 'E_EMPTY_BODY');
    await expectError(await post(new Uint8Array(0)), 400, 'E_EMPTY_BODY');
  });

  it('refuses bytes that are not an image with 415', async () => {
    let seed = 1;
    const noise = Uint8Array.from({ length: 4096 }, () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 24));
    noise[0] = 0; // neither a JPEG (ff d8 ff) nor a PNG (89 50 4e 47) signature
    await expectError(await post(noise), 415, 'E_IMAGE_FORMAT');
  });

  it('refuses a corrupt image with 422', async () => {
    await expectError(await post(panda.bytes.subarray(0, 64)), 422, 'E_IMAGE_DECODE');
  });

  it('refuses an image of too many pixels with 413 before decoding it', async () => {
    // A PNG signature and an IHDR chunk declaring 5000x5000 RGB, and nothing else.
    const png = new Uint8Array(33);
    png.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);
    const view = new DataView(png.buffer);
    view.setUint32(16, 5000);
    view.setUint32(20, 5000);
    png.set([8, 2, 0, 0, 0], 24);
    await expectError(await post(png), 413, 'E_LIMIT');
  });

  it('refuses an oversized Content-Length with 413 before the body is sent', async () => {
    // As curl does for large uploads: send the headers, and the body only after a 100 Continue.
    const declared = 8 * 1024 * 1024 + 1;
    const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(url, { method: 'POST', headers: { 'content-length': String(declared), expect: '100-continue' } });
      req.on('continue', () => reject(new Error('the Worker asked for the body')));
      req.on('response', (r) => {
        let body = '';
        r.setEncoding('utf8');
        r.on('data', (d: string) => (body += d));
        r.on('end', () => {
          resolve({ status: r.statusCode!, body });
          req.destroy();
        });
      });
      req.on('error', reject);
      req.flushHeaders();
    });
    expect(res.status).toBe(413);
    expect((JSON.parse(res.body) as ErrorAnswer).error).toMatchObject({ code: 'E_LIMIT', message: expect.stringContaining(`is ${declared} bytes`) });
  });

  it('refuses an oversized chunked body with 413 while reading it', async () => {
    const chunk = new Uint8Array(1024 * 1024);
    let chunks = 0;
    const body = new ReadableStream<Uint8Array>({ pull: (c) => (chunks++ < 9 ? c.enqueue(chunk) : c.close()) });
    await expectError(await mf.dispatchFetch('http://worker/', { method: 'POST', body, duplex: 'half' }), 413, 'E_LIMIT');
  });

  it('refuses other methods with 405', async () => {
    const res = await mf.dispatchFetch('http://worker/', { method: 'PUT', body: panda.bytes });
    expect(res.headers.get('allow')).toBe('GET, HEAD, POST');
    await expectError(res, 405, 'E_METHOD');
  });
});
