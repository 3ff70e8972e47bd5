// jpeg-js's decoder on its own: importing it rather than the package keeps the encoder, which needs
// Node's Buffer, out of browser and Worker bundles.
declare module 'jpeg-js/lib/decoder.js' {
  import type { decode } from 'jpeg-js';
  const decodeJpeg: typeof decode;
  export default decodeJpeg;
}
