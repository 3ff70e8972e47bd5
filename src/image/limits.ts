/** Limits on the images the decoder accepts (in a module of its own so the core can name them without the decoders). */
export interface ImageLimits {
  /** Largest accepted encoded image (JPEG or PNG file), in bytes. */
  maxImageBytes: number;
  /** Largest accepted width × height. */
  maxImagePixels: number;
  /** Largest accepted width or height, in pixels. */
  maxImageSide: number;
}

/**
 * 64 MiB files, 40 megapixels and 16384 pixels a side. jpeg-js needs up to about 0.9 GB to decode
 * a 40-megapixel JPEG: a Worker or a small board should lower maxImagePixels.
 */
export const DEFAULT_IMAGE_LIMITS: Readonly<ImageLimits> = Object.freeze({ maxImageBytes: 64 * 2 ** 20, maxImagePixels: 40e6, maxImageSide: 16384 });
