// @ts-check
// The browser example: load the model once, then classify each image the user picks or drops.
// `squeezewasm` is mapped to the package's browser build by the import map in index.html.
import { DEFAULT_IMAGE_LIMITS, ImageError, LimitError, SqueezeError, loadClassifier } from 'squeezewasm';

const TOP = 5;

const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));
const input = /** @type {HTMLInputElement} */ ($('file'));
const drop = $('drop');
const status = $('status');
const errorBox = $('error');
const result = $('result');
const preview = /** @type {HTMLImageElement} */ ($('preview'));
const filename = $('filename');
const list = $('top');
const timing = $('timing');

/** @param {'loading' | 'ready' | 'busy' | 'done' | 'error'} state */
function setState(state) {
  document.body.dataset.state = state;
  result.setAttribute('aria-busy', String(state === 'busy' || state === 'loading'));
}

const loadStart = performance.now();
const model = loadClassifier();
/** Set if the model failed to load. */
let loadFailure = '';
model.then(
  (net) => {
    if (document.body.dataset.state !== 'loading') return; // a file chosen meanwhile is being classified
    status.textContent = `Model ${net.name} ready (loaded in ${Math.round(performance.now() - loadStart)} ms). Choose or drop an image.`;
    setState('ready');
  },
  (error) => {
    loadFailure = `The model could not be loaded: ${message(error)}`;
    showError(loadFailure, error);
  },
);

input.addEventListener('change', () => {
  const file = input.files?.[0];
  // Reset so that choosing the same file again fires `change` again.
  input.value = '';
  if (file) void classifyFile(file);
});

// Drag and drop anywhere on the page; the drop zone shows where.
let dragDepth = 0;
document.addEventListener('dragenter', (event) => {
  if (!hasFiles(event)) return;
  event.preventDefault();
  dragDepth++;
  drop.classList.add('dragging');
});
document.addEventListener('dragleave', () => {
  dragDepth = Math.max(0, dragDepth - 1);
  if (dragDepth === 0) drop.classList.remove('dragging');
});
document.addEventListener('dragover', (event) => {
  if (!hasFiles(event)) return;
  event.preventDefault(); // allows the drop (otherwise the browser opens the file)
  if (event.dataTransfer) event.dataTransfer.dropEffect = 'copy';
});
document.addEventListener('drop', (event) => {
  event.preventDefault();
  dragDepth = 0;
  drop.classList.remove('dragging');
  const file = event.dataTransfer?.files[0];
  if (file) void classifyFile(file);
  else showError('Drop an image file (what was dropped is not a file).');
});

/** @param {DragEvent} event */
function hasFiles(event) {
  return event.dataTransfer?.types.includes('Files') ?? false;
}

let current = 0;
let previewUrl = '';

/** Classifies one file and shows the result, or says why it could not. */
async function classifyFile(/** @type {File} */ file) {
  const run = ++current;
  errorBox.textContent = '';
  result.hidden = true;
  setState('busy');
  status.textContent = `Classifying ${file.name}…`;
  try {
    const net = await model.catch(() => undefined);
    if (!net) {
      if (run === current) showError(loadFailure);
      return;
    }
    const bytes = new Uint8Array(await file.arrayBuffer());
    const t0 = performance.now();
    let classification;
    let decoder = 'squeezewasm';
    try {
      // JPEG and PNG: the package's own decoder, so results equal the Node API's for the same bytes.
      classification = await net.classify(bytes, { top: TOP });
    } catch (error) {
      if (!(error instanceof ImageError)) throw error;
      const imageError = error;
      // WebP, GIF, AVIF, ... (or a JPEG the package cannot decode): let the browser decode it.
      const pixels = await decodeWithBrowser(file).catch(() => {
        throw imageError.code === 'E_IMAGE_FORMAT' ? new NotAnImage(file.name) : imageError;
      });
      decoder = 'browser';
      classification = await net.classify(pixels, { top: TOP });
    }
    const ms = performance.now() - t0;
    if (run !== current) return; // a newer file was chosen meanwhile
    show(file, net.name, classification, ms, decoder);
  } catch (error) {
    if (run !== current) return;
    if (error instanceof NotAnImage) showError(error.message);
    else if (error instanceof LimitError) showError(`“${file.name}” is too large to classify: ${error.message}.`);
    else if (error instanceof SqueezeError) showError(`“${file.name}” could not be classified: ${error.message}.`);
    else showError(`Something went wrong classifying “${file.name}”: ${message(error)}`, error);
  }
}

class NotAnImage extends Error {
  constructor(/** @type {string} */ name) {
    super(`“${name}” is not an image. Choose a JPEG or PNG file.`);
  }
}

/**
 * Decodes any image format the browser supports to RGBA pixels.
 * @param {File} file
 * @returns {Promise<ImageData>}
 */
async function decodeWithBrowser(file) {
  const bitmap = await createImageBitmap(file);
  try {
    const { width, height } = bitmap;
    if (width * height > DEFAULT_IMAGE_LIMITS.maxImagePixels) {
      throw new LimitError('maxImagePixels', `${width}x${height} is more than ${DEFAULT_IMAGE_LIMITS.maxImagePixels} pixels`);
    }
    const canvas = document.createElement('canvas');
    canvas.width = width;
    canvas.height = height;
    const context = /** @type {CanvasRenderingContext2D} */ (canvas.getContext('2d', { willReadFrequently: true }));
    context.drawImage(bitmap, 0, 0);
    return context.getImageData(0, 0, width, height);
  } finally {
    bitmap.close();
  }
}

/**
 * @param {File} file
 * @param {string} modelName
 * @param {import('squeezewasm').Classification} classification
 * @param {number} ms
 * @param {string} decoder
 */
function show(file, modelName, classification, ms, decoder) {
  if (previewUrl) URL.revokeObjectURL(previewUrl);
  previewUrl = URL.createObjectURL(file);
  preview.src = previewUrl;
  preview.alt = `The image ${file.name}`;
  filename.textContent = file.name;

  list.replaceChildren(
    ...classification.top.map(({ index, label, probability }) => {
      const item = document.createElement('li');
      item.dataset.index = String(index);
      item.dataset.probability = String(probability);
      const row = document.createElement('span');
      row.className = 'row';
      const name = document.createElement('span');
      name.className = 'label';
      name.textContent = label;
      const pct = document.createElement('span');
      pct.className = 'pct';
      pct.textContent = percent(probability);
      row.append(name, pct);
      const bar = document.createElement('span');
      bar.className = 'bar';
      bar.setAttribute('aria-hidden', 'true');
      const fill = document.createElement('span');
      fill.style.width = `${(probability * 100).toFixed(2)}%`;
      bar.append(fill);
      item.append(row, bar);
      return item;
    }),
  );
  const decodedBy = decoder === 'browser' ? ', decoded by the browser' : '';
  timing.textContent = `${ms.toFixed(1)} ms (decode, resize and inference${decodedBy}) with ${modelName}`;
  result.hidden = false;
  const best = classification.top[0];
  status.textContent = `${file.name}: ${best.label}, ${percent(best.probability)}.`;
  setState('done');

  // For tests and the console: the raw numbers behind what is shown.
  /** @type {any} */ (window).__lastResult = {
    file: file.name,
    model: modelName,
    ms,
    decoder,
    top: classification.top.map(({ index, label, probability }) => ({ index, label, probability })),
    probabilities: Array.from(classification.probabilities),
  };
}

/** @param {string} text @param {unknown} [error] an unexpected error, also logged to the console */
function showError(text, error) {
  if (error !== undefined) console.error(error);
  status.textContent = '';
  result.hidden = true;
  errorBox.textContent = text;
  setState('error');
}

/** @param {number} p */
function percent(p) {
  return p >= 0.0005 ? `${(p * 100).toFixed(1)} %` : '< 0.1 %';
}

/** @param {unknown} error */
function message(error) {
  return error instanceof Error ? error.message : String(error);
}
