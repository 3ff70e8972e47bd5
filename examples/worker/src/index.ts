/**
 * A Cloudflare Worker that classifies images with squeezewasm: POST image bytes, get the top 5.
 * The kernels and the model are module imports (wrangler.toml: *.wasm CompiledWasm, *.sqz Data),
 * because Workers cannot compile WebAssembly from bytes at run time.
 */
import { createClassifier, ImageError, LimitError, type Classifier } from 'squeezewasm';
// squeezewasm-relaxed.wasm (which workerd also runs) only speeds up float models; int8 runs the same on both.
import wasm from 'squeezewasm/squeezewasm.wasm';
import model from 'squeezewasm/weights/squeezenet1.1-int8.sqz';

/** Largest request body accepted, in bytes. */
const MAX_BODY_BYTES = 8 * 1024 * 1024;

// An isolate has 128 MB. The classifier decodes a large JPEG at 1/2, 1/4 or 1/8 scale (a 12 MP
// phone photo, 4:2:0, at 1/8 in about 4-14 MB) and a large PNG row by row into a reduced image,
// but the worst JPEG (4:4:4 at 1/4 scale) still costs about 6 bytes per pixel, and an image whose
// shorter side is under 512 is decoded whole (17 bytes per pixel): 12.6 megapixels (a 4032x3024
// photo fits) and 8192 a side keep every format under ~90 MB of decoder memory, beside the body
// and the model's 5 MB (README.md, Limits).
const LIMITS = { maxImagePixels: 12_600_000, maxImageSide: 8192, maxImageBytes: MAX_BODY_BYTES };

const USAGE = `squeezewasm image classifier (SqueezeNet 1.1 int8, ImageNet classes)

  curl --data-binary @cat.jpg https://<your-worker>/

POST a JPEG or PNG (at most ${MAX_BODY_BYTES / 1024 / 1024} MiB and ${LIMITS.maxImagePixels / 1e6} megapixels) as the request body; the answer is JSON:
  { "top": [{ "index", "label", "probability" } x 5], "model", "ms" }
Errors are JSON too: { "error": { "code", "message" } } with a 4xx status.
`;

// One classifier per isolate, created on the first request and shared by all later ones. Each
// classification runs synchronously to completion, so concurrent requests never interleave.
let classifier: Promise<Classifier> | undefined;

export default {
  async fetch(request: Request): Promise<Response> {
    if (request.method === 'GET' || request.method === 'HEAD') {
      return new Response(USAGE, { headers: { 'content-type': 'text/plain; charset=utf-8' } });
    }
    if (request.method !== 'POST') {
      return error(405, 'E_METHOD', `method ${request.method} is not allowed; POST an image, or GET for usage`, { allow: 'GET, HEAD, POST' });
    }
    try {
      const bytes = await readBody(request);
      if (bytes.length === 0) return error(400, 'E_EMPTY_BODY', 'the request body is empty; POST the bytes of a JPEG or PNG image');
      const net = await (classifier ??= createClassifier(wasm, new Uint8Array(model), { limits: LIMITS }));
      // Deployed Workers advance the clock only across I/O, so there this reads 0; workerd run locally (wrangler dev, Miniflare) measures it.
      const t0 = performance.now();
      const { top } = await net.classify(bytes, { top: 5 });
      const ms = performance.now() - t0;
      return Response.json({ top, model: net.name, ms });
    } catch (e) {
      // Only the request can cause these; anything else (a bad bundled model, a bug) is the Worker's fault.
      if (e instanceof LimitError) return error(413, e.code, e.message);
      if (e instanceof ImageError) return error(e.code === 'E_IMAGE_FORMAT' ? 415 : 422, e.code, e.message);
      console.error(e);
      return error(500, 'E_INTERNAL', 'internal error');
    }
  },
};

/** The request body, refused with a LimitError as soon as it is known to exceed MAX_BODY_BYTES. */
async function readBody(request: Request): Promise<Uint8Array> {
  const declared = Number(request.headers.get('content-length'));
  if (declared > MAX_BODY_BYTES) throw new LimitError('maxBodyBytes', `the request body is ${declared} bytes, more than the limit of ${MAX_BODY_BYTES}`);
  if (!request.body) return new Uint8Array(0);
  // A chunked body declares no length, so the limit is also enforced while reading.
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let length = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    length += value.byteLength;
    if (length > MAX_BODY_BYTES) {
      await reader.cancel();
      throw new LimitError('maxBodyBytes', `the request body is more than the limit of ${MAX_BODY_BYTES} bytes`);
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(length);
  let offset = 0;
  for (const c of chunks) {
    bytes.set(c, offset);
    offset += c.byteLength;
  }
  return bytes;
}

function error(status: number, code: string, message: string, headers: Record<string, string> = {}): Response {
  return Response.json({ error: { code, message } }, { status, headers });
}
