// JPEG decoding: Huffman entropy decoding (baseline and progressive), the integer inverse DCT,
// upsampling and colour conversion to RGBA. The host (src/image/jpeg.ts) walks the markers, checks
// the structure and lays out every buffer; these functions only fill them.
//
// The arithmetic is libjpeg-turbo's default decoder (djpeg, PIL, torchvision) to the bit: ISLOW
// inverse DCT (jidctint.c), fancy upsampling (jdsample.c), fixed-point YCbCr (jdcolor.c). A
// preprocessing pipeline then sees the pixels the reference models were evaluated on.

// Status codes, turned into messages by the host.
const OK = 0;
const BAD_HUFFMAN_TABLE = 1;
const BAD_HUFFMAN_CODE = 2;

// Zigzag position -> natural (row-major) position. The 16 trailing entries catch a corrupt run
// that steps past the 64th coefficient, as libjpeg's table does: the write lands on coefficient 63
// instead of the next block.
const NATURAL = memory.data<u8>([
  0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5,
  12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28,
  35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51,
  58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
  63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63,
]);

// Where each coefficient (zigzag position, with NATURAL's trailing entries) is stored in a block:
// its byte offset, or NOT_STORED. FULL_ORDER is the 64 i16 in natural order (128 bytes). A block
// of a component decoded at 1/4 scale (REDUCED_ORDER, 64 bytes) stores only the 25 coefficients
// the 2x2 IDCT reads, rows and columns 0, 1, 3, 5, 7, as a 5x5 grid of i16; a progressive
// refinement scan must still know which of the others are nonzero (it reads a correction bit for
// each), so bit n of the u64 at NONZERO_BITS is set once coefficient n (natural order) is.
const NOT_STORED = 255;
const NONZERO_BITS = 56;
const FULL_ORDER = memory.data<u8>([
  0, 2, 16, 32, 18, 4, 6, 20, 34, 48, 64, 50, 36, 22, 8, 10,
  24, 38, 52, 66, 80, 96, 82, 68, 54, 40, 26, 12, 14, 28, 42, 56,
  70, 84, 98, 112, 114, 100, 86, 72, 58, 44, 30, 46, 60, 74, 88, 102,
  116, 118, 104, 90, 76, 62, 78, 92, 106, 120, 122, 108, 94, 110, 124, 126,
  126, 126, 126, 126, 126, 126, 126, 126, 126, 126, 126, 126, 126, 126, 126, 126,
]);
const REDUCED_ORDER = memory.data<u8>([
  0, 2, 10, 255, 12, 255, 4, 255, 255, 20, 255, 22, 255, 14, 255, 6,
  255, 255, 255, 255, 30, 255, 32, 255, 24, 255, 16, 255, 8, 255, 255, 255,
  255, 255, 255, 40, 42, 255, 34, 255, 26, 255, 18, 255, 255, 255, 255, 255,
  255, 44, 255, 36, 255, 28, 255, 255, 255, 255, 46, 255, 38, 255, 255, 48,
  48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48,
]);

// A decoding table (the host reserves HUFFMAN_BYTES per table):
//   u16 lookup[512]  codes of up to LOOKUP_BITS bits, indexed by the next 9 bits: length << 8 | symbol, 0 if longer;
//   i32 maxcode[17]  largest code of each length 1..16, -1 if none;
//   i32 offset[17]   symbol index minus code, per length;
//   u8  symbols[256]
const LOOKUP_BITS = 9;
const MAXCODE = 1024;
const OFFSET = MAXCODE + 68;
const SYMBOLS = OFFSET + 68;

/** Bytes of one Huffman decoding table. */
export function jpeg_huffman_bytes(): i32 {
  return 1536;
}

/**
 * Builds a decoding table from a DHT table: `counts` is 16 bytes (codes per length 1..16) followed
 * by the symbols. Refuses what libjpeg refuses: more than 256 symbols, codes that overflow their
 * length (or use the all-ones code), DC symbols above 15 (they would read more bits than a
 * coefficient has).
 */
export function jpeg_huffman_table(table: usize, counts: usize, isDc: bool): i32 {
  memory.fill(table, 0, MAXCODE);
  let code = 0;
  let p = 0;
  for (let len = 1; len <= 16; len++) {
    const n = <i32>load<u8>(counts + len - 1);
    if (n == 0) {
      store<i32>(table + MAXCODE + (len << 2), -1);
    } else {
      if (p + n > 256) return BAD_HUFFMAN_TABLE;
      store<i32>(table + OFFSET + (len << 2), p - code);
      store<i32>(table + MAXCODE + (len << 2), code + n - 1);
      for (let i = 0; i < n; i++) {
        const symbol = load<u8>(counts + 16 + p + i);
        if (isDc && symbol > 15) return BAD_HUFFMAN_TABLE;
        store<u8>(table + SYMBOLS + p + i, symbol);
        if (len <= LOOKUP_BITS) {
          const span = 1 << (LOOKUP_BITS - len);
          const first = (code + i) << (LOOKUP_BITS - len);
          const entry = <u16>((len << 8) | symbol);
          for (let j = 0; j < span; j++) store<u16>(table + ((first + j) << 1), entry);
        }
      }
      p += n;
      code += n;
      if (code >= 1 << len) return BAD_HUFFMAN_TABLE;
    }
    code <<= 1;
  }
  return OK;
}

// The bit reader. Past the end of the scan's data, or at a marker, it feeds zero bits, counted in
// `padding`; the MCU count bounds the work.
let pos: usize = 0;
let end: usize = 0;
let bits: u64 = 0;
let count: i32 = 0;
let padding: i32 = 0;

function fill(): void {
  while (count <= 56) {
    let byte: u32 = 0;
    if (pos < end) {
      byte = load<u8>(pos);
      if (byte != 0xff) {
        pos++;
      } else if (pos + 1 < end && load<u8>(pos + 1) == 0) {
        pos += 2; // a stuffed 0xff
      } else {
        byte = 0;
        padding += 8;
        end = pos; // a marker: stay before it
      }
    } else {
      padding += 8;
    }
    bits = (bits << 8) | byte;
    count += 8;
  }
}

@inline
function getBits(n: i32): i32 {
  if (count < n) fill();
  count -= n;
  return <i32>(bits >> count) & ((1 << n) - 1);
}

/** A coefficient of `size` bits as coded: a leading 0 bit means negative. */
@inline
function extend(v: i32, size: i32): i32 {
  return v < 1 << (size - 1) ? v - (1 << size) + 1 : v;
}

/** The next symbol of `table`, or -1 for a code the table does not have. */
@inline
function decodeSymbol(table: usize): i32 {
  if (count < 16) fill();
  const entry = <i32>load<u16>(table + ((<i32>(bits >> (count - LOOKUP_BITS)) & 511) << 1));
  if (entry != 0) {
    count -= entry >> 8;
    return entry & 255;
  }
  for (let len = LOOKUP_BITS + 1; len <= 16; len++) {
    const code = <i32>(bits >> (count - len)) & ((1 << len) - 1);
    if (code <= load<i32>(table + MAXCODE + (len << 2))) {
      count -= len;
      return load<u8>(table + SYMBOLS + code + load<i32>(table + OFFSET + (len << 2)));
    }
  }
  return -1;
}

/** Stores coefficient `k` (zigzag) of a block laid out by `order`, or marks it nonzero if the layout does not keep it. */
@inline
function storeCoef(block: usize, order: usize, k: i32, value: i32): void {
  const at = <usize>load<u8>(order + k);
  if (at != NOT_STORED) store<i16>(block + at, <i16>value);
  else store<u64>(block + NONZERO_BITS, load<u64>(block + NONZERO_BITS) | (<u64>1 << load<u8>(NATURAL + k)));
}

// Per-scan state: DC predictions of the scan's components and the progressive end-of-band run.
const PRED = memory.data(16, 16);
let eobrun: i32 = 0;

// Block decoders, one per kind of scan (jdhuff.c, jdphuff.c). `block` holds its coefficients as
// `order` lays them out (FULL_ORDER or REDUCED_ORDER; 0 for a block that keeps its DC alone).

function decodeBaseline(block: usize, c: usize, dc: usize, ac: usize, order: usize): i32 {
  const s = decodeSymbol(dc);
  if (s < 0) return BAD_HUFFMAN_CODE;
  const pred = load<i32>(PRED + (c << 2)) + (s != 0 ? extend(getBits(s), s) : 0);
  store<i32>(PRED + (c << 2), pred);
  store<i16>(block, <i16>pred);
  if (order == 0) return skipAc(ac);
  for (let k = 1; k < 64; k++) {
    const rs = decodeSymbol(ac);
    if (rs < 0) return BAD_HUFFMAN_CODE;
    const size = rs & 15;
    const run = rs >> 4;
    if (size != 0) {
      k += run;
      storeCoef(block, order, k, extend(getBits(size), size));
    } else if (run == 15) {
      k += 15;
    } else {
      break;
    }
  }
  return OK;
}

/** Reads past a block's AC coefficients: a component decoded at 1/8 scale keeps only its DC. */
function skipAc(ac: usize): i32 {
  for (let k = 1; k < 64; k++) {
    const rs = decodeSymbol(ac);
    if (rs < 0) return BAD_HUFFMAN_CODE;
    const size = rs & 15;
    if (size != 0) {
      k += rs >> 4;
      getBits(size);
    } else if (rs == 0xf0) {
      k += 15;
    } else {
      break;
    }
  }
  return OK;
}

function decodeDcFirst(block: usize, c: usize, dc: usize, al: i32): i32 {
  const s = decodeSymbol(dc);
  if (s < 0) return BAD_HUFFMAN_CODE;
  const pred = load<i32>(PRED + (c << 2)) + (s != 0 ? extend(getBits(s), s) : 0);
  store<i32>(PRED + (c << 2), pred);
  store<i16>(block, <i16>(pred << al));
  return OK;
}

function decodeDcRefine(block: usize, al: i32): i32 {
  if (getBits(1)) store<i16>(block, <i16>(<i32>load<i16>(block) | (1 << al)));
  return OK;
}

function decodeAcFirst(block: usize, order: usize, ac: usize, ss: i32, se: i32, al: i32): i32 {
  if (eobrun > 0) {
    eobrun--;
    return OK;
  }
  for (let k = ss; k <= se; k++) {
    const rs = decodeSymbol(ac);
    if (rs < 0) return BAD_HUFFMAN_CODE;
    const size = rs & 15;
    const run = rs >> 4;
    if (size != 0) {
      k += run;
      storeCoef(block, order, k, extend(getBits(size), size) << al);
    } else if (run == 15) {
      k += 15;
    } else {
      eobrun = (1 << run) - 1;
      if (run != 0) eobrun += getBits(run);
      break;
    }
  }
  return OK;
}

/**
 * Whether coefficient `k` (zigzag) of a block is nonzero; if it is, reads its correction bit and
 * adds it (jdphuff.c decode_mcu_AC_refine), or only reads it for a coefficient the layout does not keep.
 */
@inline
function refined(block: usize, order: usize, k: i32, p1: i32): bool {
  const at = <usize>load<u8>(order + k);
  if (at == NOT_STORED) {
    if (((load<u64>(block + NONZERO_BITS) >> load<u8>(NATURAL + k)) & 1) == 0) return false;
    getBits(1);
    return true;
  }
  const coef = <i32>load<i16>(block + at);
  if (coef == 0) return false;
  if (getBits(1) && (coef & p1) == 0) store<i16>(block + at, <i16>(coef >= 0 ? coef + p1 : coef - p1));
  return true;
}

function decodeAcRefine(block: usize, order: usize, ac: usize, ss: i32, se: i32, al: i32): i32 {
  const p1 = 1 << al;
  let k = ss;
  if (eobrun == 0) {
    for (; k <= se; k++) {
      const rs = decodeSymbol(ac);
      if (rs < 0) return BAD_HUFFMAN_CODE;
      let run = rs >> 4;
      let value = 0;
      if ((rs & 15) != 0) {
        // A newly nonzero coefficient is always ±1 << al; a size other than 1 is corrupt, and
        // libjpeg reads it as 1 too.
        value = getBits(1) ? p1 : -p1;
      } else if (run != 15) {
        eobrun = 1 << run;
        if (run != 0) eobrun += getBits(run);
        break;
      }
      // Skip `run` zero coefficients, refining the nonzero ones passed on the way.
      do {
        if (!refined(block, order, k, p1) && --run < 0) break;
        k++;
      } while (k <= se);
      if (value != 0) storeCoef(block, order, k, value);
    }
  }
  if (eobrun > 0) {
    for (; k <= se; k++) refined(block, order, k, p1);
    eobrun--;
  }
  return OK;
}

// Scan parameters (i32 each), written by the host.
const S_DATA = 0;
const S_END = 4;
const S_COMPONENTS = 8;
const S_SS = 12;
const S_SE = 16;
const S_AH = 20;
const S_AL = 24;
const S_RESTART = 28;
const S_MCUS_X = 32;
const S_ROW_BEGIN = 36; // the MCU rows this call decodes, begin .. end - 1, into coefficient
const S_ROW_END = 40; // buffers whose first block row is MCU row `begin`'s
const S_PROGRESSIVE = 44;
// Then per component, from byte 64, 32 bytes each:
const C_COEFS = 0; // i16 blocks of 64 coefficients
const C_STRIDE = 4; // blocks per row of the coefficient buffer
const C_H = 8; // blocks per MCU across (1 in a one-component scan)
const C_V = 12; // and down
const C_DC = 16; // Huffman tables
const C_AC = 20;
const C_LAYOUT = 24; // how blocks are stored: FULL_BLOCKS, DC_BLOCKS or REDUCED_BLOCKS

// Block layouts: 64 coefficients (128 bytes); the DC coefficient alone (2 bytes), for a component
// decoded at 1/8 scale; REDUCED_ORDER's 64 bytes, for one decoded at 1/4 scale.
const FULL_BLOCKS = 0;
const DC_BLOCKS = 1;
const REDUCED_BLOCKS = 2;

// Restart state, kept between the calls that decode one scan a range of MCU rows at a time.
let dataEnd: usize = 0;
let restartLeft: u32 = 0;

/** Resets the bit reader, predictions and end-of-band run: at a scan's start and at each restart. */
function resetDecoder(): void {
  bits = 0;
  count = 0;
  eobrun = 0;
  memory.fill(PRED, 0, 16);
}

/**
 * Moves past the restart marker that ends an interval's data, where the reader stopped; libjpeg
 * also skips any garbage before it. Without the marker, decoding goes on with zero bits, and a
 * reader already out of data stays so (jdhuff.c process_restart).
 */
function restart(): void {
  const starved = padding > count;
  end = dataEnd;
  while (pos + 1 < end && !(load<u8>(pos) == 0xff && load<u8>(pos + 1) != 0 && load<u8>(pos + 1) != 0xff)) pos++;
  if (pos + 1 < end && (load<u8>(pos + 1) & 0xf8) == 0xd0) {
    pos += 2;
    padding = 0;
  } else {
    end = pos;
    padding = starved ? 1 : 0;
  }
  resetDecoder();
}

/** Decodes the blocks of every component of the MCU at column `mx`, block row `row` of the buffers. */
function decodeMcu(p: usize, mx: u32, row: u32, kind: i32): i32 {
  const n = load<i32>(p + S_COMPONENTS);
  const ss = load<i32>(p + S_SS);
  const se = load<i32>(p + S_SE);
  const al = load<i32>(p + S_AL);
  for (let c: usize = 0; c < <usize>n; c++) {
    const comp = p + 64 + (c << 5);
    const coefs = <usize>load<u32>(comp + C_COEFS);
    const stride = load<u32>(comp + C_STRIDE);
    const h = load<u32>(comp + C_H);
    const v = load<u32>(comp + C_V);
    const dc = <usize>load<u32>(comp + C_DC);
    const ac = <usize>load<u32>(comp + C_AC);
    const layout = load<i32>(comp + C_LAYOUT);
    const blockShift: usize = layout == DC_BLOCKS ? 1 : layout == REDUCED_BLOCKS ? 6 : 7;
    const order: usize = layout == DC_BLOCKS ? 0 : layout == REDUCED_BLOCKS ? REDUCED_ORDER : FULL_ORDER;
    for (let by: u32 = 0; by < v; by++) {
      for (let bx: u32 = 0; bx < h; bx++) {
        const block = coefs + ((<usize>((row * v + by) * stride + mx * h + bx)) << blockShift);
        let status: i32;
        if (kind == 0) status = decodeBaseline(block, c, dc, ac, order);
        else if (kind == 1) status = decodeDcFirst(block, c, dc, al);
        else if (kind == 2) status = decodeDcRefine(block, al);
        else if (kind == 3) status = decodeAcFirst(block, order, ac, ss, se, al);
        else status = decodeAcRefine(block, order, ac, ss, se, al);
        if (status != OK) return status;
      }
    }
  }
  return OK;
}

/**
 * Decodes MCU rows S_ROW_BEGIN .. S_ROW_END - 1 of a scan's entropy-coded data into the
 * coefficient buffers, whose first block row is row S_ROW_BEGIN's. A call that begins at row 0
 * starts the scan; a later one goes on where the previous call of the same scan stopped (bit
 * reader, predictions, restart interval), so a scan can be decoded into a buffer of one MCU row,
 * row after row. Returns 0, or a status code for a code its Huffman tables do not have.
 */
export function jpeg_decode_scan(p: usize): i32 {
  const interval = load<u32>(p + S_RESTART);
  const begin = load<u32>(p + S_ROW_BEGIN);
  if (begin == 0) {
    pos = <usize>load<u32>(p + S_DATA);
    end = <usize>load<u32>(p + S_END);
    dataEnd = end;
    padding = 0;
    restartLeft = interval;
    resetDecoder();
  }
  const ss = load<i32>(p + S_SS);
  const ah = load<i32>(p + S_AH);
  const mcusX = load<u32>(p + S_MCUS_X);
  const rowEnd = load<u32>(p + S_ROW_END);
  const kind = load<i32>(p + S_PROGRESSIVE) == 0 ? 0 : ss == 0 ? (ah == 0 ? 1 : 2) : ah == 0 ? 3 : 4;
  for (let my = begin; my < rowEnd; my++) {
    for (let mx: u32 = 0; mx < mcusX; mx++) {
      if (interval != 0) {
        if (restartLeft == 0) {
          restart();
          restartLeft = interval;
        }
        restartLeft--;
      }
      // Once decoding has used padding bits, libjpeg (jdhuff.c insufficient_data) leaves the rest
      // of the restart interval uncoded: zero, or what earlier scans gave.
      if (padding > count) continue;
      const status = decodeMcu(p, mx, my - begin, kind);
      if (status != OK) return status;
    }
  }
  return OK;
}

// The inverse DCT: jidctint.c's jpeg_idct_islow, four columns (pass 1) or rows (pass 2) per
// vector. Its zero-AC shortcuts give what the full computation gives, so there are none here.
const CONST_BITS = 13;
const WS = memory.data(256, 16); // pass 1 output: two halves of 4 columns x 8 rows, i32
const WS2 = memory.data(128, 16); // pass 2 output for 4 rows: 8 columns, i32

@inline
function mulc(v: v128, c: i32): v128 {
  return i32x4.mul(v, i32x4.splat(c));
}

/** The 1-D IDCT of eight vectors, descaled by `shift` with rounding, stored at dst, dst + 16, ... */
@inline
function idct8(x0: v128, x1: v128, x2: v128, x3: v128, x4: v128, x5: v128, x6: v128, x7: v128, dst: usize, shift: i32): void {
  // Even part.
  const z1 = mulc(i32x4.add(x2, x6), 4433); // FIX(0.541196100)
  const e2 = i32x4.add(z1, mulc(x6, -15137)); // -FIX(1.847759065)
  const e3 = i32x4.add(z1, mulc(x2, 6270)); // FIX(0.765366865)
  const e0 = i32x4.shl(i32x4.add(x0, x4), CONST_BITS);
  const e1 = i32x4.shl(i32x4.sub(x0, x4), CONST_BITS);
  const t10 = i32x4.add(e0, e3);
  const t13 = i32x4.sub(e0, e3);
  const t11 = i32x4.add(e1, e2);
  const t12 = i32x4.sub(e1, e2);
  // Odd part.
  const a4 = i32x4.add(x5, x1);
  const a3 = i32x4.add(x7, x3);
  const a2 = i32x4.add(x5, x3);
  const a1 = i32x4.add(x7, x1);
  const z5 = mulc(i32x4.add(a3, a4), 9633); // FIX(1.175875602)
  const b4 = i32x4.add(mulc(a4, -3196), z5); // -FIX(0.390180644)
  const b3 = i32x4.add(mulc(a3, -16069), z5); // -FIX(1.961570560)
  const b1 = mulc(a1, -7373); // -FIX(0.899976223)
  const b2 = mulc(a2, -20995); // -FIX(2.562915447)
  const o3 = i32x4.add(mulc(x1, 12299), i32x4.add(b1, b4)); // FIX(1.501321110)
  const o2 = i32x4.add(mulc(x3, 25172), i32x4.add(b2, b3)); // FIX(3.072711026)
  const o1 = i32x4.add(mulc(x5, 16819), i32x4.add(b2, b4)); // FIX(2.053119869)
  const o0 = i32x4.add(mulc(x7, 2446), i32x4.add(b1, b3)); // FIX(0.298631336)
  const round = i32x4.splat(1 << (shift - 1));
  v128.store(dst, i32x4.shr_s(i32x4.add(i32x4.add(t10, o3), round), shift));
  v128.store(dst, i32x4.shr_s(i32x4.add(i32x4.add(t11, o2), round), shift), 16);
  v128.store(dst, i32x4.shr_s(i32x4.add(i32x4.add(t12, o1), round), shift), 32);
  v128.store(dst, i32x4.shr_s(i32x4.add(i32x4.add(t13, o0), round), shift), 48);
  v128.store(dst, i32x4.shr_s(i32x4.add(i32x4.sub(t13, o0), round), shift), 64);
  v128.store(dst, i32x4.shr_s(i32x4.add(i32x4.sub(t12, o1), round), shift), 80);
  v128.store(dst, i32x4.shr_s(i32x4.add(i32x4.sub(t11, o2), round), shift), 96);
  v128.store(dst, i32x4.shr_s(i32x4.add(i32x4.sub(t10, o3), round), shift), 112);
}

/** Column k of a block (coefficients times quantizers), for columns 4·half .. 4·half + 3. */
@inline
function dequantized(block: usize, quant: usize, k: usize, half: usize): v128 {
  return i32x4.mul(v128.load_ext<i16>(block + (k << 4) + (half << 3)), v128.load(quant + (k << 5) + (half << 4)));
}

/** Transposes the 4x4 i32 matrix in rows a, b, c, d; returns row `i` of the result. */
@inline
function transposed(a: v128, b: v128, c: v128, d: v128, i: i32): v128 {
  const ab = i == 0 || i == 1 ? i32x4.shuffle(a, b, 0, 4, 1, 5) : i32x4.shuffle(a, b, 2, 6, 3, 7);
  const cd = i == 0 || i == 1 ? i32x4.shuffle(c, d, 0, 4, 1, 5) : i32x4.shuffle(c, d, 2, 6, 3, 7);
  return i == 0 || i == 2 ? i64x2.shuffle(ab, cd, 0, 2) : i64x2.shuffle(ab, cd, 1, 3);
}

/** A sample from an IDCT output: libjpeg's range limit table, which wraps at ±512 before clamping. */
@inline
function limited(lo: v128, hi: v128): v128 {
  const centre = i32x4.splat(128);
  const a = i32x4.add(i32x4.shr_s(i32x4.shl(lo, 22), 22), centre);
  const b = i32x4.add(i32x4.shr_s(i32x4.shl(hi, 22), 22), centre);
  const s = i16x8.narrow_i32x4_s(a, b);
  return i8x16.narrow_i16x8_u(s, s);
}

function idctBlock(block: usize, quant: usize, out: usize, stride: usize): void {
  // Most chroma blocks, and flat luma ones, have only a DC coefficient: the block is one value, as
  // the full computation would give.
  let ac = v128.and(v128.load(block), i16x8.replace_lane(i16x8.splat(-1), 0, 0));
  for (let k: usize = 16; k < 128; k += 16) ac = v128.or(ac, v128.load(block + k));
  if (!v128.any_true(ac)) {
    const dc = (((<i32>load<i16>(block) * load<i32>(quant)) << 2) + 16) >> 5;
    const value = i8x16.splat(<i8>min(max(((dc << 22) >> 22) + 128, 0), 255));
    for (let y: usize = 0; y < 8; y++) v128.store64_lane(out + y * stride, value, 0);
    return;
  }
  for (let half: usize = 0; half < 2; half++) {
    idct8(
      dequantized(block, quant, 0, half), dequantized(block, quant, 1, half),
      dequantized(block, quant, 2, half), dequantized(block, quant, 3, half),
      dequantized(block, quant, 4, half), dequantized(block, quant, 5, half),
      dequantized(block, quant, 6, half), dequantized(block, quant, 7, half),
      WS + (half << 7), CONST_BITS - 2,
    );
  }
  for (let g: usize = 0; g < 2; g++) {
    // Rows 4g .. 4g + 3 of the pass 1 output, as columns.
    const l0 = v128.load(WS + (g << 6)), l1 = v128.load(WS + (g << 6), 16);
    const l2 = v128.load(WS + (g << 6), 32), l3 = v128.load(WS + (g << 6), 48);
    const r0 = v128.load(WS + 128 + (g << 6)), r1 = v128.load(WS + 128 + (g << 6), 16);
    const r2 = v128.load(WS + 128 + (g << 6), 32), r3 = v128.load(WS + 128 + (g << 6), 48);
    idct8(
      transposed(l0, l1, l2, l3, 0), transposed(l0, l1, l2, l3, 1), transposed(l0, l1, l2, l3, 2), transposed(l0, l1, l2, l3, 3),
      transposed(r0, r1, r2, r3, 0), transposed(r0, r1, r2, r3, 1), transposed(r0, r1, r2, r3, 2), transposed(r0, r1, r2, r3, 3),
      WS2, CONST_BITS + 2 + 3,
    );
    const c0 = v128.load(WS2), c1 = v128.load(WS2, 16), c2 = v128.load(WS2, 32), c3 = v128.load(WS2, 48);
    const c4 = v128.load(WS2, 64), c5 = v128.load(WS2, 80), c6 = v128.load(WS2, 96), c7 = v128.load(WS2, 112);
    const row = out + ((g << 2) * stride);
    v128.store64_lane(row, limited(transposed(c0, c1, c2, c3, 0), transposed(c4, c5, c6, c7, 0)), 0);
    v128.store64_lane(row + stride, limited(transposed(c0, c1, c2, c3, 1), transposed(c4, c5, c6, c7, 1)), 0);
    v128.store64_lane(row + 2 * stride, limited(transposed(c0, c1, c2, c3, 2), transposed(c4, c5, c6, c7, 2)), 0);
    v128.store64_lane(row + 3 * stride, limited(transposed(c0, c1, c2, c3, 3), transposed(c4, c5, c6, c7, 3)), 0);
  }
}

/**
 * Dequantizes and inverse-transforms every block of a component: `blocksX` x `blocksY` blocks of
 * 64 i16 coefficients, with `quant` the 64 quantizers as i32 in natural order, into 8-bit samples
 * `8 * blocksX` per row.
 */
export function jpeg_idct(coefs: usize, quant: usize, out: usize, blocksX: u32, blocksY: u32): void {
  const stride = <usize>blocksX << 3;
  for (let by: u32 = 0; by < blocksY; by++) {
    for (let bx: u32 = 0; bx < blocksX; bx++) {
      idctBlock(coefs + ((<usize>(by * blocksX + bx)) << 7), quant, out + (<usize>by << 3) * stride + (<usize>bx << 3), stride);
    }
  }
}

// The reduced inverse DCTs of libjpeg's jidctred.c (jpeg_idct_4x4, _2x2, _1x1), which djpeg
// -scale 1/2, 1/4 and 1/8 use: the outputs are averages of 2x2, 4x4 or 8x8 of the full IDCT's,
// computed from the coefficients directly. Their zero-AC shortcuts give what the full computation
// gives, as jpeg_idct's do.

/** The DC-only block's value, as every IDCT size computes it: (DC · q + 4) >> 3, range limited. */
@inline
function dcSample(block: usize, quant: usize): u8 {
  return <u8>min(max((((((<i32>load<i16>(block) * load<i32>(quant)) + 4) >> 3) << 22) >> 22) + 128, 0), 255);
}

/** Whether a block's 63 AC coefficients are all zero. */
@inline
function acZero(block: usize): bool {
  let ac = v128.and(v128.load(block), i16x8.replace_lane(i16x8.splat(-1), 0, 0));
  for (let k: usize = 16; k < 128; k += 16) ac = v128.or(ac, v128.load(block + k));
  return !v128.any_true(ac);
}

/**
 * The 8-to-4 step of jpeg_idct_4x4 on four vectors at once: inputs 0, 1, 2, 3, 5, 6, 7 of the
 * 1-D transform (4 is unused), outputs 0..3 descaled by `shift`.
 */
@inline
function idct4(x0: v128, x1: v128, x2: v128, x3: v128, x5: v128, x6: v128, x7: v128, shift: i32, out: usize, stride: usize): void {
  const t0 = i32x4.shl(x0, CONST_BITS + 1);
  const t2 = i32x4.add(mulc(x2, 15137), mulc(x6, -6270)); // FIX(1.847759065), -FIX(0.765366865)
  const t10 = i32x4.add(t0, t2);
  const t12 = i32x4.sub(t0, t2);
  // FIX(0.211164243), FIX(1.451774981), FIX(2.172734803), FIX(1.061594337)
  const o0 = i32x4.add(i32x4.add(mulc(x7, -1730), mulc(x5, 11893)), i32x4.add(mulc(x3, -17799), mulc(x1, 8697)));
  // FIX(0.509795579), FIX(0.601344887), FIX(0.899976223), FIX(2.562915447)
  const o2 = i32x4.add(i32x4.add(mulc(x7, -4176), mulc(x5, -4926)), i32x4.add(mulc(x3, 7373), mulc(x1, 20995)));
  const round = i32x4.splat(1 << (shift - 1));
  v128.store(out, i32x4.shr_s(i32x4.add(i32x4.add(t10, o2), round), shift));
  v128.store(out + stride, i32x4.shr_s(i32x4.add(i32x4.add(t12, o0), round), shift));
  v128.store(out + 2 * stride, i32x4.shr_s(i32x4.add(i32x4.sub(t12, o0), round), shift));
  v128.store(out + 3 * stride, i32x4.shr_s(i32x4.add(i32x4.sub(t10, o2), round), shift));
}

function idct4x4Block(block: usize, quant: usize, out: usize, stride: usize): void {
  if (acZero(block)) {
    const value = i8x16.splat(dcSample(block, quant));
    for (let y: usize = 0; y < 4; y++) v128.store32_lane(out + y * stride, value, 0);
    return;
  }
  // Pass 1, columns 0..3 and 4..7: rows 0..3 of the workspace, 8 i32 each (WS + 32 · row + 16 · half).
  for (let half: usize = 0; half < 2; half++) {
    idct4(
      dequantized(block, quant, 0, half), dequantized(block, quant, 1, half), dequantized(block, quant, 2, half),
      dequantized(block, quant, 3, half), dequantized(block, quant, 5, half), dequantized(block, quant, 6, half),
      dequantized(block, quant, 7, half), CONST_BITS - 2 + 1, WS + (half << 4), 32,
    );
  }
  // Pass 2 on the four rows at once: column c of the workspace is a vector over the rows.
  const l0 = v128.load(WS), l1 = v128.load(WS, 32), l2 = v128.load(WS, 64), l3 = v128.load(WS, 96);
  const r0 = v128.load(WS, 16), r1 = v128.load(WS, 48), r2 = v128.load(WS, 80), r3 = v128.load(WS, 112);
  idct4(
    transposed(l0, l1, l2, l3, 0), transposed(l0, l1, l2, l3, 1), transposed(l0, l1, l2, l3, 2), transposed(l0, l1, l2, l3, 3),
    transposed(r0, r1, r2, r3, 1), transposed(r0, r1, r2, r3, 2), transposed(r0, r1, r2, r3, 3),
    CONST_BITS + 2 + 3 + 1, WS2, 16,
  );
  // WS2 holds output columns 0..3, each over rows 0..3: transpose back to rows.
  const c0 = v128.load(WS2), c1 = v128.load(WS2, 16), c2 = v128.load(WS2, 32), c3 = v128.load(WS2, 48);
  const top = limited(transposed(c0, c1, c2, c3, 0), transposed(c0, c1, c2, c3, 1));
  const bottom = limited(transposed(c0, c1, c2, c3, 2), transposed(c0, c1, c2, c3, 3));
  v128.store32_lane(out, top, 0);
  v128.store32_lane(out + stride, top, 1);
  v128.store32_lane(out + 2 * stride, bottom, 0);
  v128.store32_lane(out + 3 * stride, bottom, 1);
}

/**
 * jpeg_idct at 1/2 scale (jidctred.c jpeg_idct_4x4): each block of 64 coefficients becomes 4x4
 * samples, `4 * blocksX` per row of `out`.
 */
export function jpeg_idct_4x4(coefs: usize, quant: usize, out: usize, blocksX: u32, blocksY: u32): void {
  const stride = <usize>blocksX << 2;
  for (let by: u32 = 0; by < blocksY; by++) {
    for (let bx: u32 = 0; bx < blocksX; bx++) {
      idct4x4Block(coefs + ((<usize>(by * blocksX + bx)) << 7), quant, out + (<usize>by << 2) * stride + (<usize>bx << 2), stride);
    }
  }
}

/** A sample from the 2x2 IDCT's second pass: DESCALE by CONST_BITS + PASS1_BITS + 3 + 2, range limited. */
@inline
function limit2(v: i32): u8 {
  return <u8>min(max((((v + (1 << 19)) >> 20) << 22 >> 22) + 128, 0), 255);
}

/** Whether a REDUCED_ORDER block's 24 stored AC coefficients are all zero. */
@inline
function reducedAcZero(block: usize): bool {
  const ac = v128.or(v128.or(v128.and(v128.load(block), i16x8.replace_lane(i16x8.splat(-1), 0, 0)), v128.load(block, 16)), v128.load(block, 32));
  return !v128.any_true(ac) && load<i16>(block, 48) == 0;
}

// The columns (and rows) of a block the 2x2 IDCT reads, in the order REDUCED_ORDER stores them.
const REDUCED_COLUMNS = memory.data<u8>([0, 1, 3, 5, 7]);

function idct2x2Block(block: usize, quant: usize, out: usize, stride: usize): void {
  if (reducedAcZero(block)) {
    const value = dcSample(block, quant);
    store<u8>(out, value);
    store<u8>(out, value, 1);
    store<u8>(out + stride, value);
    store<u8>(out + stride, value, 1);
    return;
  }
  // Pass 1 on columns 0, 1, 3, 5, 7 (the second pass reads no others): rows 0 and 1 of the
  // workspace. Column c's rows 0, 1, 3, 5, 7 are 10 bytes apart in the block.
  for (let i: usize = 0; i < 5; i++) {
    const c = <usize>load<u8>(REDUCED_COLUMNS + i);
    const col = block + (i << 1);
    const q = quant + (c << 2);
    const t10 = (<i32>load<i16>(col) * load<i32>(q)) << (CONST_BITS + 2);
    // FIX(0.720959822), FIX(0.850430095), FIX(1.272758580), FIX(3.624509785)
    const t0 = <i32>load<i16>(col, 40) * load<i32>(q, 224) * -5906 + <i32>load<i16>(col, 30) * load<i32>(q, 160) * 6967
      + <i32>load<i16>(col, 20) * load<i32>(q, 96) * -10426 + <i32>load<i16>(col, 10) * load<i32>(q, 32) * 29692;
    store<i32>(WS + (c << 2), (t10 + t0 + (1 << 12)) >> 13);
    store<i32>(WS + 32 + (c << 2), (t10 - t0 + (1 << 12)) >> 13);
  }
  for (let r: usize = 0; r < 2; r++) {
    const w = WS + (r << 5);
    const t10 = load<i32>(w) << (CONST_BITS + 2);
    const t0 = load<i32>(w, 28) * -5906 + load<i32>(w, 20) * 6967 + load<i32>(w, 12) * -10426 + load<i32>(w, 4) * 29692;
    store<u8>(out + r * stride, limit2(t10 + t0));
    store<u8>(out + r * stride, limit2(t10 - t0), 1);
  }
}

/**
 * jpeg_idct at 1/4 scale (jidctred.c jpeg_idct_2x2): each block, the 64 bytes REDUCED_ORDER lays
 * out (the 25 coefficients it reads), becomes 2x2 samples, `2 * blocksX` per row of `out`.
 */
export function jpeg_idct_2x2(coefs: usize, quant: usize, out: usize, blocksX: u32, blocksY: u32): void {
  const stride = <usize>blocksX << 1;
  for (let by: u32 = 0; by < blocksY; by++) {
    for (let bx: u32 = 0; bx < blocksX; bx++) {
      idct2x2Block(coefs + ((<usize>(by * blocksX + bx)) << 6), quant, out + (<usize>by << 1) * stride + (<usize>bx << 1), stride);
    }
  }
}

/**
 * jpeg_idct at 1/8 scale (jidctred.c jpeg_idct_1x1): each block is its DC coefficient alone (one
 * i16 per block, as jpeg_decode_scan stores a DC-only component), and becomes one sample.
 */
export function jpeg_idct_1x1(coefs: usize, quant: usize, out: usize, blocksX: u32, blocksY: u32): void {
  const n = <usize>blocksX * blocksY;
  for (let i: usize = 0; i < n; i++) store<u8>(out + i, dcSample(coefs + (i << 1), quant));
}

// Output parameters (i32 each), written by the host.
const O_WIDTH = 0;
const O_HEIGHT = 4;
const O_MAX_H = 8;
const O_MAX_V = 12;
const O_COMPONENTS = 16;
const O_COLOUR = 20;
const O_OUT = 24;
const O_ROWS = 28; // scratch: jpeg_row_bytes(width) per component
const O_FANCY = 32; // 0: box upsampling, which libjpeg uses at 1/8 scale
// Then per component, from byte 64, 32 bytes each:
const P_SAMPLES = 0; // the component's samples,
const P_STRIDE = 4; // this many per row;
const P_H = 8; // samples per maxH x maxV pixels: the sampling factors, or at reduced scale
const P_V = 12; // libjpeg's "input group" (a factor times the component's IDCT size / the smallest)
const P_WIDTH = 16; // samples per row that belong to the image, ceil(width * h / maxH) at full scale,
const P_HEIGHT = 20; // and rows, ceil(height * v / maxV)

/**
 * Bytes of scratch per component for a row `width` pixels wide: the upsampled row, and column sums
 * (i16) for the fancy upsamplers. Vector loops run up to 15 bytes past the row; this leaves room.
 */
export function jpeg_row_bytes(width: i32): usize {
  return 3 * ((<usize>width + 31) & ~15);
}

// Colour spaces of the components.
const GREY = 0;
const YCBCR = 1;
const CMYK = 3; // as Adobe writes it: 255 is no ink
const YCCK = 4;

/**
 * The horizontal half of h2v1_fancy_upsample (shift 2) and h2v2_fancy_upsample (shift 4, on sums
 * of 3 · near row + far row): each input gives two outputs, 3/4 of itself and 1/4 of its left or
 * right neighbour, rounded with the biases jdsample.c uses. Copies of the first and last sums
 * beyond the ends give its special cases for the first and last columns.
 */
function fancyColumns(sums: usize, w: i32, out: usize, shift: i32): void {
  store<i16>(sums - 2, load<i16>(sums));
  store<i16>(sums + (<usize>w << 1), load<i16>(sums + (<usize>(w - 1) << 1)));
  const three = i16x8.splat(3);
  const evenBias = i16x8.splat(shift == 4 ? 8 : 1);
  const oddBias = i16x8.splat(shift == 4 ? 7 : 2);
  for (let x: usize = 0; x < <usize>w; x += 8) {
    const at = sums + (x << 1);
    const cur = i16x8.mul(v128.load(at), three);
    const even = i16x8.shr_s(i16x8.add(i16x8.add(cur, v128.load(at - 2)), evenBias), shift);
    const odd = i16x8.shr_s(i16x8.add(i16x8.add(cur, v128.load(at + 2)), oddBias), shift);
    const e = i8x16.narrow_i16x8_u(even, even);
    const o = i8x16.narrow_i16x8_u(odd, odd);
    v128.store(out + (x << 1), i8x16.shuffle(e, o, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23));
  }
}

/**
 * Row `y` of component `c` at full resolution: the plane's row itself, or `scratch` filled by the
 * upsampler libjpeg picks (jdsample.c jinit_upsampler): fancy (triangle filter) for 2:1 horizontal,
 * 2:1 vertical and both, replication otherwise and at 1/8 scale. Fractional ratios, which libjpeg
 * refuses, replicate the nearest sample, as jpeg-js did.
 */
function componentRow(p: usize, c: usize, y: i32, scratch: usize): usize {
  const comp = p + 64 + (c << 5);
  const samples = <usize>load<u32>(comp + P_SAMPLES);
  const stride = <usize>load<u32>(comp + P_STRIDE);
  const h = load<i32>(comp + P_H);
  const v = load<i32>(comp + P_V);
  const w = load<i32>(comp + P_WIDTH);
  const rows = load<i32>(comp + P_HEIGHT);
  const maxH = load<i32>(p + O_MAX_H);
  const maxV = load<i32>(p + O_MAX_V);
  const width = load<i32>(p + O_WIDTH);
  if (h == maxH && v == maxV) return samples + <usize>y * stride;
  const fancy = load<i32>(p + O_FANCY) != 0;
  const h2 = h * 2 == maxH;
  // Column sums start 16 bytes into the second third of the scratch: fancyColumns reads one before.
  const sums = scratch + jpeg_row_bytes(width) / 3 + 16;
  if (fancy && v * 2 == maxV && (h == maxH || (h2 && w > 2))) {
    const near = y >> 1;
    const far = y & 1 ? min(near + 1, rows - 1) : max(near - 1, 0);
    const a = samples + <usize>near * stride;
    const b = samples + <usize>far * stride;
    const three = i16x8.splat(3);
    if (h2) {
      for (let x: usize = 0; x < <usize>w; x += 8) {
        v128.store(sums + (x << 1), i16x8.add(i16x8.mul(v128.load_ext<u8>(a + x), three), v128.load_ext<u8>(b + x)));
      }
      fancyColumns(sums, w, scratch, 4);
    } else {
      // h1v2_fancy_upsample rounds the upper output row down and the lower one up.
      const bias = i16x8.splat(<i16>(1 + (y & 1)));
      for (let x: usize = 0; x < <usize>width; x += 8) {
        const sum = i16x8.add(i16x8.add(i16x8.mul(v128.load_ext<u8>(a + x), three), v128.load_ext<u8>(b + x)), bias);
        const s8 = i8x16.narrow_i16x8_u(i16x8.shr_u(sum, 2), sum);
        v128.store64_lane(scratch + x, s8, 0);
      }
    }
    return scratch;
  }
  if (fancy && v == maxV && h2 && w > 2) {
    const row = samples + <usize>y * stride;
    for (let x: usize = 0; x < <usize>w; x += 8) v128.store(sums + (x << 1), v128.load_ext<u8>(row + x));
    fancyColumns(sums, w, scratch, 2);
    return scratch;
  }
  const row = samples + <usize>((y * v) / maxV) * stride;
  for (let x = 0; x < width; x++) store<u8>(scratch + x, load<u8>(row + <usize>((x * h) / maxH)));
  return scratch;
}

@inline
function clamp255(v: i32): i32 {
  return min(max(v, 0), 255);
}

/** jdcolor.c ycc_rgb_convert for 8 pixels, stored as RGBA. */
@inline
function yccToRgba8(py: usize, pcb: usize, pcr: usize, out: usize): void {
  const y = v128.load_ext<u8>(py);
  const cb = i16x8.sub(v128.load_ext<u8>(pcb), i16x8.splat(128));
  const cr = i16x8.sub(v128.load_ext<u8>(pcr), i16x8.splat(128));
  const half = i32x4.splat(32768);
  const ylo = i32x4.extend_low_i16x8_u(y), yhi = i32x4.extend_high_i16x8_u(y);
  const cblo = i32x4.extend_low_i16x8_s(cb), cbhi = i32x4.extend_high_i16x8_s(cb);
  const crlo = i32x4.extend_low_i16x8_s(cr), crhi = i32x4.extend_high_i16x8_s(cr);
  const r = i16x8.narrow_i32x4_s(
    i32x4.add(ylo, i32x4.shr_s(i32x4.add(mulc(crlo, 91881), half), 16)),
    i32x4.add(yhi, i32x4.shr_s(i32x4.add(mulc(crhi, 91881), half), 16)),
  );
  const g = i16x8.narrow_i32x4_s(
    i32x4.add(ylo, i32x4.shr_s(i32x4.add(i32x4.add(mulc(cblo, -22554), mulc(crlo, -46802)), half), 16)),
    i32x4.add(yhi, i32x4.shr_s(i32x4.add(i32x4.add(mulc(cbhi, -22554), mulc(crhi, -46802)), half), 16)),
  );
  const b = i16x8.narrow_i32x4_s(
    i32x4.add(ylo, i32x4.shr_s(i32x4.add(mulc(cblo, 116130), half), 16)),
    i32x4.add(yhi, i32x4.shr_s(i32x4.add(mulc(cbhi, 116130), half), 16)),
  );
  // Saturating to u8 is the clamp to 0..255.
  const rg = i8x16.narrow_i16x8_u(r, g);
  const ba = i8x16.narrow_i16x8_u(b, i16x8.splat(255));
  const rgLo = i8x16.shuffle(rg, rg, 0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15);
  const baLo = i8x16.shuffle(ba, ba, 0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15);
  v128.store(out, i16x8.shuffle(rgLo, baLo, 0, 8, 1, 9, 2, 10, 3, 11));
  v128.store(out, i16x8.shuffle(rgLo, baLo, 4, 12, 5, 13, 6, 14, 7, 15), 16);
}

/**
 * Upsamples the components and converts them to RGBA (jdcolor.c ycc_rgb_convert's fixed point;
 * CMYK and YCCK as jpeg-js rendered them, R = C · K / 255 on Adobe's inverted values, rounded).
 */
export function jpeg_rgba(p: usize): void {
  const width = load<i32>(p + O_WIDTH);
  const height = load<i32>(p + O_HEIGHT);
  const n = load<i32>(p + O_COMPONENTS);
  const colour = load<i32>(p + O_COLOUR);
  const scratch = <usize>load<u32>(p + O_ROWS);
  const rowBytes = jpeg_row_bytes(width);
  let out = <usize>load<u32>(p + O_OUT);
  for (let y = 0; y < height; y++) {
    const r0 = componentRow(p, 0, y, scratch);
    const r1 = n > 1 ? componentRow(p, 1, y, scratch + rowBytes) : r0;
    const r2 = n > 2 ? componentRow(p, 2, y, scratch + 2 * rowBytes) : r0;
    const r3 = n > 3 ? componentRow(p, 3, y, scratch + 3 * rowBytes) : r0;
    let x: usize = 0;
    if (colour == YCBCR) {
      for (; x + 8 <= <usize>width; x += 8, out += 32) yccToRgba8(r0 + x, r1 + x, r2 + x, out);
    } else if (colour == GREY) {
      for (; x + 8 <= <usize>width; x += 8, out += 32) {
        const grey = v128.load64_zero(r0 + x);
        const gg = i8x16.shuffle(grey, grey, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7);
        const ga = i8x16.shuffle(grey, i8x16.splat(-1), 0, 16, 1, 16, 2, 16, 3, 16, 4, 16, 5, 16, 6, 16, 7, 16);
        v128.store(out, i16x8.shuffle(gg, ga, 0, 8, 1, 9, 2, 10, 3, 11));
        v128.store(out, i16x8.shuffle(gg, ga, 4, 12, 5, 13, 6, 14, 7, 15), 16);
      }
    }
    for (; x < <usize>width; x++, out += 4) {
      let r = <i32>load<u8>(r0 + x);
      let g = r;
      let b = r;
      if (colour != GREY) {
        g = <i32>load<u8>(r1 + x);
        b = <i32>load<u8>(r2 + x);
        if (colour == YCBCR || colour == YCCK) {
          // RGB (2) components are the pixel as they are.
          const luma = r;
          const cb = g - 128;
          const cr = b - 128;
          r = clamp255(luma + ((91881 * cr + 32768) >> 16));
          g = clamp255(luma + ((-22554 * cb - 46802 * cr + 32768) >> 16));
          b = clamp255(luma + ((116130 * cb + 32768) >> 16));
        }
        if (colour == CMYK || colour == YCCK) {
          const k = <i32>load<u8>(r3 + x);
          if (colour == YCCK) {
            r = 255 - r;
            g = 255 - g;
            b = 255 - b;
          }
          r = (r * k + 127) / 255;
          g = (g * k + 127) / 255;
          b = (b * k + 127) / 255;
        }
      }
      store<u32>(out, <u32>r | (<u32>g << 8) | (<u32>b << 16) | 0xff000000);
    }
  }
}
