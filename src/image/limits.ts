/** Limits on the images the decoder accepts (in a module of its own, with the decoder's options, so the core can name them without the decoders). */
export interface ImageLimits {
  /** Largest accepted encoded image (JPEG or PNG file), in bytes. */
  maxImageBytes: number;
  /** Largest accepted width × height. */
  maxImagePixels: number;
  /** Largest accepted width or height, in pixels. */
  maxImageSide: number;
}

/**
 * 64 MiB files, 50 megapixels (48 and 50 MP phone photos) and 16384 pixels a side. Classifying
 * decodes a large JPEG at reduced scale (`minShortSide`), where a 4:2:0 photo takes about 0.2
 * bytes per input pixel (baseline: one MCU row of coefficients at a time) or 0.7 (progressive:
 * every block's DC and the 25 chroma coefficients the 1/8 IDCT reads), besides the file. At full
 * size a colour JPEG still takes up to 9.5 bytes per pixel baseline (samples and RGBA) and 17
 * progressive (every coefficient; 20 for CMYK): a full-size decode of 50 megapixels can reach
 * 0.85 GB, and a Worker or a small board that decodes at full size should lower maxImagePixels.
 */
export const DEFAULT_IMAGE_LIMITS: Readonly<ImageLimits> = Object.freeze({ maxImageBytes: 64 * 2 ** 20, maxImagePixels: 50e6, maxImageSide: 16384 });

/** How {@link decodeImage} decodes, beyond the limits. */
export interface DecodeOptions {
  /**
   * The shortest side the caller needs (a classifier's resize target, `input.resizeShorter`). A
   * JPEG is decoded at the smallest of 1/8, 1/4 and 1/2 scale whose shorter side is still at
   * least this long, the pixels of `djpeg -scale M/8`, and at full size when none is: far less
   * time and memory for a large photo that is resized to this anyway. A PNG is reduced by the
   * largest of 8, 4 and 2 that keeps its shorter side at least this long: each output pixel is the
   * mean of a block of pixels, per channel, rounded half up (edge blocks average the pixels they
   * have), computed row by row while decoding (an interlaced PNG is decoded whole, then averaged).
   * Default: full size.
   */
  minShortSide?: number;
}
