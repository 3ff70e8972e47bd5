// PNG decoding: a zlib inflater and the unfiltering and colour conversion of PNG scanlines to 8-bit
// RGBA. The host (src/image/png.ts) checks the chunk structure and CRCs, concatenates the IDAT
// data, sizes every buffer from the header and turns the status codes returned here into errors.
//
// Nothing here trusts the data: every read of compressed input is checked against its end, the
// output never grows past the size the header implies, and the work is linear in the input and
// output sizes. The worst input per byte is a stream of empty blocks that each send Huffman
// tables: about 150 ns a byte (1 MB in 0.16 s; zlib takes 0.1 s, fflate took 0.3 s).

// ---------------------------------------------------------------- status codes (see src/image/png.ts)

const OK = 0;
const TRUNCATED = 1;
const BAD_HEADER = 2;
const DICTIONARY = 3;
const BAD_BLOCK_TYPE = 4;
const BAD_STORED_LENGTH = 5;
const BAD_CODE_LENGTHS = 6;
const BAD_CODE = 7;
const TOO_FAR_BACK = 8;
const TOO_LONG = 9;
const TOO_SHORT = 10;
const BAD_CHECKSUM = 11;
const BAD_FILTER = 20;
const BAD_INDEX = 21;
const BAD_LAYOUT = 22;

// ---------------------------------------------------------------- Huffman tables
//
// A decoding table maps the next root bits of input (least significant first, as deflate packs
// them; at most LIT_ROOT, DIST_ROOT or CL_ROOT) to an entry; codes longer than that go through a
// link to a subtable indexed by the following bits, sized as zlib sizes them so that no code needs
// a third level. An entry is
//   bits 0-4   code length (bits to consume)
//   bits 5-7   kind: LITERAL, BASE (length or distance base plus extra bits), END, LINK, INVALID
//   bits 8-11  extra bits after the code (BASE), or the subtable's index bits (LINK)
//   bits 16-31 the literal, the base, or the subtable's first entry (LINK)

const LITERAL = 0;
const BASE = 1;
const END = 2;
const LINK = 3;
const INVALID = 4;
const INVALID_ENTRY: u32 = INVALID << 5;

const LIT_ROOT = 10;
const DIST_ROOT = 8;
const CL_ROOT = 7;
/** The fixed code's longest literal/length and distance codes. */
const FIXED_LIT_ROOT = 9;
const FIXED_DIST_ROOT = 5;

// Table sizes in entries. zlib's `enough` program bounds a complete code's root table plus
// subtables: 1332 entries for 286 literal/length codes at 10 root bits, 400 for 30 distance codes
// at 8. Incomplete codes are refused except a single one-bit code, which needs no subtable.
const LIT_ENTRIES = 2048;
const DIST_ENTRIES = 1024;
const CL_ENTRIES = 128;

const KIND_CODE_LENGTHS = 0;
const KIND_LITLEN = 1;
const KIND_DIST = 2;

const LENGTH_BASE = memory.data<u16>([3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258]);
const LENGTH_EXTRA = memory.data<u8>([0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]);
const DIST_BASE = memory.data<u16>([
  1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
]);
const DIST_EXTRA = memory.data<u8>([0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13]);
/** The order in which a dynamic block sends the lengths of the code length code. */
const CL_ORDER = memory.data<u8>([16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]);

// Scratch layout, in bytes from the caller's scratch pointer.
const S_LIT = 0;
const S_DIST = S_LIT + LIT_ENTRIES * 4;
const S_CL = S_DIST + DIST_ENTRIES * 4;
const S_FIXED_LIT = S_CL + CL_ENTRIES * 4;
const S_FIXED_DIST = S_FIXED_LIT + (1 << FIXED_LIT_ROOT) * 4;
const S_LENS = S_FIXED_DIST + (1 << FIXED_DIST_ROOT) * 4; // 320 code lengths (u8)
const S_COUNT = S_LENS + 320; // 16 x u16
const S_OFFS = S_COUNT + 32; // 16 x u16
const S_SORTED = S_OFFS + 32; // 288 x u16
const SCRATCH_BYTES = S_SORTED + 288 * 2;

/** What may be written past the window's flush point before the next flush: a match and its 8-byte overshoot. */
const FLUSH_MARGIN: usize = 258 + 8;
/** Deflate's farthest distance back: what the window keeps when it is emptied. */
const HISTORY: usize = 32768;

/** Bytes of scratch memory {@link inflate_zlib} needs. */
export function inflate_scratch_bytes(): i32 {
  return SCRATCH_BYTES;
}

function entryFor(kind: i32, sym: i32, len: i32): u32 {
  if (kind == KIND_CODE_LENGTHS) return (<u32>sym << 16) | <u32>len;
  if (kind == KIND_LITLEN) {
    if (sym < 256) return (<u32>sym << 16) | <u32>len;
    if (sym == 256) return (END << 5) | <u32>len;
    if (sym > 285) return INVALID_ENTRY | <u32>len;
    const i = <usize>(sym - 257);
    return (<u32>load<u16>(LENGTH_BASE + (i << 1)) << 16) | (<u32>load<u8>(LENGTH_EXTRA + i) << 8) | (BASE << 5) | <u32>len;
  }
  if (sym > 29) return INVALID_ENTRY | <u32>len;
  return (<u32>load<u16>(DIST_BASE + (<usize>sym << 1)) << 16) | (<u32>load<u8>(DIST_EXTRA + <usize>sym) << 8) | (BASE << 5) | <u32>len;
}

@inline function reverse(code: i32, len: i32): i32 {
  let r = 0;
  for (let i = 0; i < len; i++) {
    r = (r << 1) | (code & 1);
    code >>= 1;
  }
  return r;
}

@inline function fillInvalid(table: usize, entries: i32): void {
  for (let i = 0; i < entries; i++) store<u32>(table + (<usize>i << 2), INVALID_ENTRY);
}

/**
 * Builds the decoding table of the canonical code with `n` code lengths at `lens` (zlib's
 * inflate_table, with the same rules: an over-subscribed code is refused, and so is an incomplete
 * one unless it is a single one-bit code or, for distances, empty). Returns the table's root bits,
 * at most `root` and no more than the longest code needs, so that a block with a small code does
 * not pay for filling a large table; or -BAD_CODE_LENGTHS.
 */
function buildTable(lens: usize, n: i32, table: usize, root: i32, kind: i32, scratch: usize): i32 {
  const count = scratch + S_COUNT;
  const offs = scratch + S_OFFS;
  const sorted = scratch + S_SORTED;
  for (let l = 0; l < 16; l++) store<u16>(count + (<usize>l << 1), 0);
  for (let s = 0; s < n; s++) {
    const at = count + (<usize>load<u8>(lens + s) << 1);
    store<u16>(at, load<u16>(at) + 1);
  }
  let maxLen = 15;
  while (maxLen > 0 && load<u16>(count + (<usize>maxLen << 1)) == 0) maxLen--;
  if (maxLen == 0) {
    // No codes: a block of literals only has no distance code; reaching the table is an error.
    if (kind != KIND_DIST) return -BAD_CODE_LENGTHS;
    fillInvalid(table, 2);
    return 1;
  }
  root = min(root, maxLen);
  const size = 1 << root;
  let left = 1;
  for (let l = 1; l <= 15; l++) {
    left = (left << 1) - <i32>load<u16>(count + (<usize>l << 1));
    if (left < 0) return -BAD_CODE_LENGTHS;
  }
  if (left > 0) {
    if (kind == KIND_CODE_LENGTHS || maxLen != 1) return -BAD_CODE_LENGTHS;
    fillInvalid(table, size);
  }
  store<u16>(offs + 2, 0);
  for (let l = 1; l < 15; l++) {
    store<u16>(offs + (<usize>(l + 1) << 1), load<u16>(offs + (<usize>l << 1)) + load<u16>(count + (<usize>l << 1)));
  }
  for (let s = 0; s < n; s++) {
    const l = <usize>load<u8>(lens + s);
    if (l == 0) continue;
    const o = load<u16>(offs + (l << 1));
    store<u16>(sorted + (<usize>o << 1), <u16>s);
    store<u16>(offs + (l << 1), o + 1);
  }
  let code = 0;
  let idx = 0;
  let next = size;
  let prefix = -1;
  let subBits = 0;
  let subBase = 0;
  for (let l = 1; l <= maxLen; l++) {
    const nl = <i32>load<u16>(count + (<usize>l << 1));
    for (let k = 0; k < nl; k++, code++) {
      const e = entryFor(kind, <i32>load<u16>(sorted + (<usize>idx << 1)), l);
      idx++;
      const rev = reverse(code, l);
      if (l <= root) {
        for (let j = rev; j < size; j += 1 << l) store<u32>(table + (<usize>j << 2), e);
        continue;
      }
      const p = code >> (l - root);
      if (p != prefix) {
        // A new subtable: as many index bits as the codes still to come under this prefix need.
        prefix = p;
        let cur = l - root;
        let room = (1 << cur) - (nl - k);
        while (cur + root < maxLen && room > 0) {
          cur++;
          room = (room << 1) - <i32>load<u16>(count + (<usize>(cur + root) << 1));
        }
        subBits = cur;
        subBase = next;
        next += 1 << cur;
        store<u32>(table + (<usize>reverse(p, root) << 2), (<u32>subBase << 16) | (<u32>subBits << 8) | (LINK << 5));
      }
      for (let j = rev >> root; j < 1 << subBits; j += 1 << (l - root)) store<u32>(table + (<usize>(subBase + j) << 2), e);
    }
    code <<= 1;
  }
  return root;
}

/** The fixed literal/length and distance codes of block type 1. */
function buildFixed(scratch: usize): void {
  const lens = scratch + S_LENS;
  for (let s = 0; s < 288; s++) store<u8>(lens + s, s < 144 ? 8 : s < 256 ? 9 : s < 280 ? 7 : 8);
  buildTable(lens, 288, scratch + S_FIXED_LIT, LIT_ROOT, KIND_LITLEN, scratch);
  for (let s = 0; s < 30; s++) store<u8>(lens + s, 5);
  // Distance codes 30 and 31 exist in the fixed code but are invalid: give them lengths too.
  store<u8>(lens + 30, 5);
  store<u8>(lens + 31, 5);
  buildTable(lens, 32, scratch + S_FIXED_DIST, DIST_ROOT, KIND_DIST, scratch);
}

// ---------------------------------------------------------------- inflate

/**
 * Inflates the zlib stream of `srcLen` bytes at `src` into exactly `dstLen` bytes at `dst`, which
 * must be followed by 8 writable bytes (matches are copied 8 bytes at a time). Checks the zlib
 * header and the Adler-32 of the output; bytes after the checksum are ignored. Returns a status
 * code and stores the number of bytes inflated at `state` (u32).
 */
export function inflate_zlib(src: usize, srcLen: i32, dst: usize, dstLen: i32, scratch: usize, state: usize): i32 {
  return inflate(src, srcLen, dst, dstLen, 0, 0, scratch, state);
}

/**
 * {@link inflate_zlib}, or with `rows` (a row state, see {@link png_reduce}) into a window of `cap`
 * bytes at `dst`: when it fills, the complete scanlines are handed to the row state and all but
 * the last 32 KB (deflate's farthest distance) and a partial scanline are dropped. The history
 * a match may reach is then what is left in the window, which always covers 32 KB.
 */
function inflate(src: usize, srcLen: i32, dst: usize, dstLen: i32, cap: usize, rows: usize, scratch: usize, state: usize): i32 {
  store<u32>(state, 0);
  if (srcLen < 2) return TRUNCATED;
  const cmf = <u32>load<u8>(src);
  const flg = <u32>load<u8>(src + 1);
  if ((cmf & 15) != 8 || cmf >> 4 > 7 || ((cmf << 8) | flg) % 31 != 0) return BAD_HEADER;
  if (flg & 0x20) return DICTIONARY;
  let ip = src + 2;
  const ie = src + <usize>srcLen;
  let oe = dst + <usize>dstLen;
  let op = dst;
  // Bytes dropped from the window's front so far, and where the window must be emptied.
  let slid: usize = 0;
  const flushAt = rows ? dst + cap - FLUSH_MARGIN : <usize>-1;
  let bb: u64 = 0; // bit buffer, next bit in bit 0
  let bc: u32 = 0; // valid bits in bb
  let fixedBuilt = false;
  let status = OK;
  let litRoot = FIXED_LIT_ROOT;
  let distRoot = FIXED_DIST_ROOT;
  for (;;) {
    // Refill to at least 56 bits while input lasts: one refill covers a whole length/distance pair.
    if (ip + 8 <= ie) {
      bb |= load<u64>(ip) << bc;
      ip += (63 - bc) >> 3;
      bc |= 56;
    } else {
      while (bc <= 56 && ip < ie) {
        bb |= (<u64>load<u8>(ip)) << bc;
        ip++;
        bc += 8;
      }
    }
    if (bc < 3) {
      status = TRUNCATED;
      break;
    }
    const final = <u32>bb & 1;
    const type = (<u32>bb >> 1) & 3;
    bb >>= 3;
    bc -= 3;
    if (type == 0) {
      // Stored: the length fields start at the next byte; give back the whole bytes buffered.
      bb >>= bc & 7;
      bc &= ~7;
      ip -= bc >> 3;
      bb = 0;
      bc = 0;
      if (ip + 4 > ie) {
        status = TRUNCATED;
        break;
      }
      const len = <u32>load<u16>(ip);
      if ((len ^ <u32>load<u16>(ip + 2)) != 0xffff) {
        status = BAD_STORED_LENGTH;
        break;
      }
      ip += 4;
      if (<usize>len > ie - ip) {
        status = TRUNCATED;
        break;
      }
      if (<usize>len > oe - op) {
        status = TOO_LONG;
        break;
      }
      for (let left = <usize>len; left > 0; ) {
        if (op > flushAt) {
          const shift = flush(rows, dst, op);
          if (shift < 0) return <i32>-shift;
          op -= shift;
          oe -= shift;
          slid += shift;
        }
        const n = rows ? min(left, dst + cap - 8 - op) : left;
        memory.copy(op, ip, n);
        op += n;
        ip += n;
        left -= n;
      }
    } else {
      let lt = scratch + S_FIXED_LIT;
      let dt = scratch + S_FIXED_DIST;
      if (type == 1) {
        if (!fixedBuilt) {
          buildFixed(scratch);
          fixedBuilt = true;
        }
        litRoot = FIXED_LIT_ROOT;
        distRoot = FIXED_DIST_ROOT;
      } else if (type == 2) {
        if (bc < 14) {
          status = TRUNCATED;
          break;
        }
        const nlen = (<i32>bb & 31) + 257;
        const ndist = (<i32>(bb >> 5) & 31) + 1;
        const ncode = (<i32>(bb >> 10) & 15) + 4;
        bb >>= 14;
        bc -= 14;
        if (nlen > 286 || ndist > 30) {
          status = BAD_CODE_LENGTHS;
          break;
        }
        const lens = scratch + S_LENS;
        for (let i = 0; i < 19; i++) store<u8>(lens + load<u8>(CL_ORDER + i), 0);
        // At most 57 bits of code length code lengths: refill halfway.
        for (let i = 0; i < ncode; i++) {
          if (bc < 3) {
            while (bc <= 56 && ip < ie) {
              bb |= (<u64>load<u8>(ip)) << bc;
              ip++;
              bc += 8;
            }
            if (bc < 3) return end(TRUNCATED, state, op - dst + slid);
          }
          store<u8>(lens + load<u8>(CL_ORDER + i), <u8>(<u32>bb & 7));
          bb >>= 3;
          bc -= 3;
        }
        const cl = scratch + S_CL;
        const clRoot = buildTable(lens, 19, cl, CL_ROOT, KIND_CODE_LENGTHS, scratch);
        if (clRoot < 0) {
          status = -clRoot;
          break;
        }
        // The literal/length and distance code lengths, run-length coded with symbols 16-18.
        const total = nlen + ndist;
        for (let i = 0; i < total; ) {
          while (bc <= 56 && ip < ie) {
            bb |= (<u64>load<u8>(ip)) << bc;
            ip++;
            bc += 8;
          }
          const e = load<u32>(cl + ((<usize>bb & ((1 << clRoot) - 1)) << 2));
          const n = e & 31;
          if (n > bc) return end(TRUNCATED, state, op - dst + slid);
          bb >>= n;
          bc -= n;
          const sym = e >> 16;
          if (sym < 16) {
            store<u8>(lens + i++, <u8>sym);
            continue;
          }
          let value: u8 = 0;
          let repeat: i32;
          if (sym == 16) {
            if (i == 0) return end(BAD_CODE_LENGTHS, state, op - dst + slid);
            value = load<u8>(lens + i - 1);
            if (bc < 2) return end(TRUNCATED, state, op - dst + slid);
            repeat = 3 + (<i32>bb & 3);
            bb >>= 2;
            bc -= 2;
          } else if (sym == 17) {
            if (bc < 3) return end(TRUNCATED, state, op - dst + slid);
            repeat = 3 + (<i32>bb & 7);
            bb >>= 3;
            bc -= 3;
          } else {
            if (bc < 7) return end(TRUNCATED, state, op - dst + slid);
            repeat = 11 + (<i32>bb & 127);
            bb >>= 7;
            bc -= 7;
          }
          if (i + repeat > total) return end(BAD_CODE_LENGTHS, state, op - dst + slid);
          for (let k = 0; k < repeat; k++) store<u8>(lens + i++, value);
        }
        // Without a code for end-of-block the block could not end.
        if (load<u8>(lens + 256) == 0) {
          status = BAD_CODE_LENGTHS;
          break;
        }
        lt = scratch + S_LIT;
        dt = scratch + S_DIST;
        litRoot = buildTable(lens, nlen, lt, LIT_ROOT, KIND_LITLEN, scratch);
        // The distance lengths follow the literal/length ones; the table builder reads them from there.
        distRoot = litRoot < 0 ? litRoot : buildTable(lens + nlen, ndist, dt, DIST_ROOT, KIND_DIST, scratch);
        if (distRoot < 0) {
          status = -distRoot;
          break;
        }
      } else {
        status = BAD_BLOCK_TYPE;
        break;
      }
      // Symbols of a Huffman block, up to its end-of-block code.
      for (;;) {
        if (op > flushAt) {
          const shift = flush(rows, dst, op);
          if (shift < 0) return <i32>-shift;
          op -= shift;
          oe -= shift;
          slid += shift;
        }
        if (ip + 8 <= ie) {
          bb |= load<u64>(ip) << bc;
          ip += (63 - bc) >> 3;
          bc |= 56;
        } else {
          while (bc <= 56 && ip < ie) {
            bb |= (<u64>load<u8>(ip)) << bc;
            ip++;
            bc += 8;
          }
        }
        let e = load<u32>(lt + ((<usize>bb & ((1 << litRoot) - 1)) << 2));
        if (((e >> 5) & 7) == LINK) {
          e = load<u32>(lt + (<usize>((e >> 16) + ((<u32>(bb >> litRoot)) & ((1 << ((e >> 8) & 15)) - 1))) << 2));
        }
        let n = e & 31;
        if (n > bc) return end(TRUNCATED, state, op - dst + slid);
        bb >>= n;
        bc -= n;
        let kind = (e >> 5) & 7;
        if (kind == LITERAL) {
          if (op >= oe) return end(TOO_LONG, state, op - dst + slid);
          store<u8>(op++, <u8>(e >> 16));
          continue;
        }
        if (kind != BASE) {
          if (kind == END) break;
          return end(BAD_CODE, state, op - dst + slid);
        }
        let x = (e >> 8) & 15;
        if (x > bc) return end(TRUNCATED, state, op - dst + slid);
        const len = <usize>((e >> 16) + (<u32>bb & ((1 << x) - 1)));
        bb >>= x;
        bc -= x;
        e = load<u32>(dt + ((<usize>bb & ((1 << distRoot) - 1)) << 2));
        if (((e >> 5) & 7) == LINK) {
          e = load<u32>(dt + (<usize>((e >> 16) + ((<u32>(bb >> distRoot)) & ((1 << ((e >> 8) & 15)) - 1))) << 2));
        }
        n = e & 31;
        if (n > bc) return end(TRUNCATED, state, op - dst + slid);
        bb >>= n;
        bc -= n;
        if (((e >> 5) & 7) != BASE) return end(BAD_CODE, state, op - dst + slid);
        x = (e >> 8) & 15;
        if (x > bc) return end(TRUNCATED, state, op - dst + slid);
        const dist = <usize>((e >> 16) + (<u32>bb & ((1 << x) - 1)));
        bb >>= x;
        bc -= x;
        if (dist > op - dst) return end(TOO_FAR_BACK, state, op - dst + slid);
        if (len > oe - op) return end(TOO_LONG, state, op - dst + slid);
        let from = op - dist;
        const to = op + len;
        if (dist >= 8) {
          // Each 8-byte step reads bytes already written; the last may write up to 7 bytes past `to`.
          do {
            store<u64>(op, load<u64>(from));
            op += 8;
            from += 8;
          } while (op < to);
        } else if (dist == 1) {
          memory.fill(op, load<u8>(from), len);
        } else {
          do {
            store<u8>(op, load<u8>(from));
            op++;
            from++;
          } while (op < to);
        }
        op = to;
      }
    }
    if (status != OK) break;
    if (final) break;
  }
  if (status != OK) return end(status, state, op - dst + slid);
  store<u32>(state, <u32>(op - dst + slid));
  if (op < oe) return TOO_SHORT;
  // The Adler-32 follows the last block, big-endian, at the next byte boundary.
  bc &= ~7;
  ip -= bc >> 3;
  if (ip + 4 > ie) return TRUNCATED;
  const want = bswap<u32>(load<u32>(ip));
  if (rows == 0) return adler32(1, dst, dstLen) == want ? OK : BAD_CHECKSUM;
  const last = flush(rows, dst, op);
  if (last < 0) return <i32>-last;
  return load<u32>(rows + R_ADLER) == want ? OK : BAD_CHECKSUM;
}

@inline function end(status: i32, state: usize, produced: usize): i32 {
  store<u32>(state, <u32>produced);
  return status;
}

/** The Adler-32 of `n` bytes at `p` following bytes whose Adler-32 is `adler` (1 for none). */
function adler32(adler: u32, p: usize, n: i32): u32 {
  let a: u32 = adler & 0xffff;
  let b: u32 = adler >> 16;
  const e = p + <usize>n;
  while (p < e) {
    // 5552 bytes is the most that keeps b below 2^32 before the reduction (zlib's NMAX).
    const chunk = min<usize>(5552, e - p);
    const ce = p + chunk;
    const ce4 = p + (chunk & ~3);
    while (p < ce4) {
      a += <u32>load<u8>(p);
      b += a;
      a += <u32>load<u8>(p, 1);
      b += a;
      a += <u32>load<u8>(p, 2);
      b += a;
      a += <u32>load<u8>(p, 3);
      b += a;
      p += 4;
    }
    while (p < ce) {
      a += <u32>load<u8>(p++);
      b += a;
    }
    a %= 65521;
    b %= 65521;
  }
  return (b << 16) | a;
}

// ---------------------------------------------------------------- PNG scanlines

/** The seven Adam7 passes: first column, first row, column step, row step. */
const ADAM7 = memory.data<u8>([0, 0, 8, 8, 4, 0, 8, 8, 0, 4, 4, 8, 2, 0, 4, 4, 0, 2, 2, 4, 1, 0, 2, 2, 0, 1, 1, 2]);

/**
 * Unfilters the inflated scanlines at `raw` (`rawLen` bytes, in place) and writes the image as 8-bit
 * RGBA to `dst`: greyscale expanded, samples below 8 bits scaled to 0..255, 16-bit samples rounded
 * to 8 bits, palette indices looked up in the 256 RGBA entries at `palette`, of which `colours` are
 * defined. On error stores two u32 at `state`: the filter type and row, or the pixel's x and y.
 */
export function png_to_rgba(
  raw: usize, rawLen: i32, width: i32, height: i32, depth: i32, colourType: i32, interlaced: i32,
  palette: usize, colours: i32, dst: usize, state: usize,
): i32 {
  const channels = colourType == 0 || colourType == 3 ? 1 : colourType == 2 ? 3 : colourType == 4 ? 2 : 4;
  const bits = channels * depth;
  const bpp = max(1, bits >> 3);
  const passes = interlaced ? 7 : 1;
  let p = raw;
  const rawEnd = raw + <usize>rawLen;
  for (let pass = 0; pass < passes; pass++) {
    const x0 = interlaced ? <i32>load<u8>(ADAM7 + (pass << 2)) : 0;
    const y0 = interlaced ? <i32>load<u8>(ADAM7 + (pass << 2) + 1) : 0;
    const dx = interlaced ? <i32>load<u8>(ADAM7 + (pass << 2) + 2) : 1;
    const dy = interlaced ? <i32>load<u8>(ADAM7 + (pass << 2) + 3) : 1;
    if (width <= x0 || height <= y0) continue;
    const w = (width - x0 + dx - 1) / dx;
    const h = (height - y0 + dy - 1) / dy;
    const rowBytes = <usize>((<i64>w * bits + 7) >> 3);
    if (<u64>(rowBytes + 1) * <u64>h > <u64>(rawEnd - p)) return BAD_LAYOUT;
    for (let j = 0; j < h; j++) {
      const f = <i32>load<u8>(p);
      const row = p + 1;
      if (f > 4) {
        store<u32>(state, f);
        store<u32>(state, y0 + j * dy, 4);
        return BAD_FILTER;
      }
      unfilter(row, j > 0 ? row - rowBytes - 1 : 0, rowBytes, bpp, f);
      const y = y0 + j * dy;
      const out = dst + ((<usize>y * <usize>width + <usize>x0) << 2);
      const step = <usize>dx << 2;
      const bad = convertRow(row, w, depth, colourType, palette, colours, out, step);
      if (bad >= 0) {
        store<u32>(state, x0 + bad * dx);
        store<u32>(state, y, 4);
        return BAD_INDEX;
      }
      p = row + rowBytes;
    }
  }
  return OK;
}

/** Converts an unfiltered scanline to RGBA; returns the column of the first index past the palette, or -1. */
function convertRow(row: usize, w: i32, depth: i32, colourType: i32, palette: usize, colours: i32, out: usize, step: usize): i32 {
  if (colourType == 3) return indexedRow(row, w, depth, palette, colours, out, step);
  if (depth < 8) greyPackedRow(row, w, depth, out, step);
  else if (depth == 8) row8(row, w, colourType, out, step);
  else row16(row, w, colourType, out, step);
  return -1;
}

/** Undoes filter `f` on the `n` bytes at `row`; `prev` is the unfiltered row above, 0 for the first. */
function unfilter(row: usize, prev: usize, n: usize, bpp: i32, f: i32): void {
  const s = <usize>bpp;
  if (f == 0) return;
  if (prev == 0) {
    // Above the first row is a row of zeros: Up is None, Paeth is Sub, Average halves the left byte.
    if (f == 2) return;
    if (f == 3) {
      for (let i = s; i < n; i++) store<u8>(row + i, load<u8>(row + i) + (load<u8>(row + i - s) >> 1));
      return;
    }
    f = 1;
  }
  if (f == 1) {
    for (let i = s; i < n; i++) store<u8>(row + i, load<u8>(row + i) + load<u8>(row + i - s));
  } else if (f == 2) {
    let i: usize = 0;
    for (; i + 16 <= n; i += 16) v128.store(row + i, i8x16.add(v128.load(row + i), v128.load(prev + i)));
    for (; i < n; i++) store<u8>(row + i, load<u8>(row + i) + load<u8>(prev + i));
  } else if (f == 3) {
    for (let i: usize = 0; i < s && i < n; i++) store<u8>(row + i, load<u8>(row + i) + (load<u8>(prev + i) >> 1));
    for (let i = s; i < n; i++) {
      store<u8>(row + i, load<u8>(row + i) + <u8>((<u32>load<u8>(row + i - s) + <u32>load<u8>(prev + i)) >> 1));
    }
  } else {
    for (let i: usize = 0; i < s && i < n; i++) store<u8>(row + i, load<u8>(row + i) + load<u8>(prev + i));
    for (let i = s; i < n; i++) {
      const a = <i32>load<u8>(row + i - s);
      const b = <i32>load<u8>(prev + i);
      const c = <i32>load<u8>(prev + i - s);
      const pa = abs(b - c);
      const pb = abs(a - c);
      const pc = abs(a + b - c - c);
      const pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      store<u8>(row + i, load<u8>(row + i) + <u8>pred);
    }
  }
}

@inline function rgba(r: u32, g: u32, b: u32, a: u32): u32 {
  return r | (g << 8) | (b << 16) | (a << 24);
}

/** A 16-bit sample rounded to 8 bits. */
@inline function to8(p: usize): u32 {
  const v = (<u32>load<u8>(p) << 8) | <u32>load<u8>(p, 1);
  return (v * 255 + 32767) / 65535;
}

function row8(row: usize, w: i32, colourType: i32, out: usize, step: usize): void {
  const e = out + <usize>w * step;
  if (colourType == 0) {
    for (; out < e; out += step, row++) store<u32>(out, <u32>load<u8>(row) * 0x010101 | 0xff000000);
  } else if (colourType == 2) {
    for (; out < e; out += step, row += 3) store<u32>(out, rgba(load<u8>(row), load<u8>(row, 1), load<u8>(row, 2), 255));
  } else if (colourType == 4) {
    for (; out < e; out += step, row += 2) store<u32>(out, <u32>load<u8>(row) * 0x010101 | (<u32>load<u8>(row, 1) << 24));
  } else {
    for (; out < e; out += step, row += 4) store<u32>(out, load<u32>(row));
  }
}

function row16(row: usize, w: i32, colourType: i32, out: usize, step: usize): void {
  const e = out + <usize>w * step;
  if (colourType == 0) {
    for (; out < e; out += step, row += 2) store<u32>(out, to8(row) * 0x010101 | 0xff000000);
  } else if (colourType == 2) {
    for (; out < e; out += step, row += 6) store<u32>(out, rgba(to8(row), to8(row + 2), to8(row + 4), 255));
  } else if (colourType == 4) {
    for (; out < e; out += step, row += 4) store<u32>(out, to8(row) * 0x010101 | (to8(row + 2) << 24));
  } else {
    for (; out < e; out += step, row += 8) store<u32>(out, rgba(to8(row), to8(row + 2), to8(row + 4), to8(row + 6)));
  }
}

function greyPackedRow(row: usize, w: i32, depth: i32, out: usize, step: usize): void {
  const mask = (1 << depth) - 1;
  const scale = <u32>(255 / mask);
  for (let i = 0, bit = 0; i < w; i++, bit += depth, out += step) {
    const v = (<u32>load<u8>(row + (bit >> 3)) >> (8 - depth - (bit & 7))) & mask;
    store<u32>(out, v * scale * 0x010101 | 0xff000000);
  }
}

/** Returns the column of the first index past the palette, or -1. */
function indexedRow(row: usize, w: i32, depth: i32, palette: usize, colours: i32, out: usize, step: usize): i32 {
  const mask = (1 << depth) - 1;
  for (let i = 0, bit = 0; i < w; i++, bit += depth, out += step) {
    const v = depth == 8 ? <i32>load<u8>(row + i) : (<i32>load<u8>(row + (bit >> 3)) >> (8 - depth - (bit & 7))) & mask;
    if (v >= colours) return i;
    store<u32>(out, load<u32>(palette + (<usize>v << 2)));
  }
  return -1;
}

// ---------------------------------------------------------------- reduced decoding, row by row
//
// png_reduce inflates into a small window and hands each complete scanline to the row state:
// unfiltered against the previous row, converted to RGBA, and added into per-block sums that
// become a row of the reduced image when the block row is complete. Neither the inflated data nor
// the full-size image is ever held.

// Row state: u32 fields, in bytes from its pointer.
const R_CURSOR = 0; // the window's first byte not yet taken as a scanline
const R_ADLER = 4; // Adler-32 of the bytes before R_SUMMED
const R_SUMMED = 8;
const R_Y = 12; // next scanline
const R_WIDTH = 16;
const R_HEIGHT = 20;
const R_DEPTH = 24;
const R_COLOUR = 28;
const R_PALETTE = 32;
const R_COLOURS = 36;
const R_SHIFT = 40; // log2 of the block side
const R_PREV = 48;
const R_CUR = 52;
const R_RGBA = 56;
const R_SUMS = 60;
const R_DST = 64;
const R_ERR_A = 68;
const R_ERR_B = 72;
const R_PASS = 76; // the Adam7 pass being taken (0 when not interlaced)
const R_INTERLACED = 80;
const ROW_STATE_BYTES = 84;

/**
 * Decodes the zlib stream at `src` of a PNG straight to its 2^shift-times-reduced RGBA image at
 * `dst` (ceil(width / 2^shift) x ceil(height / 2^shift)): each output pixel is the mean of its
 * block's pixels, per channel, rounded half up; blocks at the right and bottom edges average the
 * pixels they have. The pixels are those {@link png_to_rgba} makes. Needs a window of `cap` bytes
 * at `buf`, at least 32 KB plus a scanline plus 512 (more flushes less often); `prev` and `cur` of
 * a scanline's bytes plus 16, `rgbaRow` of width x 4 plus 16, `sums` of 8 bytes per output column
 * plus 16, or per output pixel plus 16 if `interlaced` (an Adam7 pass's rows add into every block
 * row, so all of them are summed before any is averaged). Returns a status code; on error stores
 * two u32 at `state` as png_to_rgba does, or the number of bytes inflated.
 */
export function png_reduce(
  src: usize, srcLen: i32, buf: usize, cap: i32, width: i32, height: i32, depth: i32, colourType: i32, palette: usize,
  colours: i32, interlaced: i32, shift: i32, prev: usize, cur: usize, rgbaRow: usize, sums: usize, dst: usize, scratch: usize, state: usize,
): i32 {
  const channels = colourType == 0 || colourType == 3 ? 1 : colourType == 2 ? 3 : colourType == 4 ? 2 : 4;
  const rowBytes = <usize>((<i64>width * channels * depth + 7) >> 3);
  if (<usize>cap < HISTORY + rowBytes + 1 + 2 * FLUSH_MARGIN) return BAD_LAYOUT;
  const rows = scratch + SCRATCH_BYTES;
  store<u32>(rows + R_CURSOR, buf);
  store<u32>(rows + R_ADLER, 1);
  store<u32>(rows + R_SUMMED, buf);
  store<u32>(rows + R_Y, 0);
  store<u32>(rows + R_WIDTH, width);
  store<u32>(rows + R_HEIGHT, height);
  store<u32>(rows + R_DEPTH, depth);
  store<u32>(rows + R_COLOUR, colourType);
  store<u32>(rows + R_PALETTE, palette);
  store<u32>(rows + R_COLOURS, colours);
  store<u32>(rows + R_SHIFT, shift);
  store<u32>(rows + R_PREV, prev);
  store<u32>(rows + R_CUR, cur);
  store<u32>(rows + R_RGBA, rgbaRow);
  store<u32>(rows + R_SUMS, sums);
  store<u32>(rows + R_DST, dst);
  store<u32>(rows + R_PASS, 0);
  store<u32>(rows + R_INTERLACED, interlaced);
  const blocks = <usize>(((width - 1) >> shift) + 1);
  memory.fill(sums, 0, (interlaced ? <usize>(((height - 1) >> shift) + 1) * blocks : blocks) << 3);
  let expected: u64 = 0;
  const passes = interlaced ? 7 : 1;
  for (let pass = 0; pass < passes; pass++) {
    const w = passSide(pass, interlaced, width, 0);
    if (w > 0) expected += <u64>passSide(pass, interlaced, height, 1) * (((<u64>w * channels * depth + 7) >> 3) + 1);
  }
  if (expected > <u64>i32.MAX_VALUE) return BAD_LAYOUT;
  const status = inflate(src, srcLen, buf, <i32>expected, <usize>cap, rows, scratch, state);
  if (status == BAD_FILTER || status == BAD_INDEX) {
    store<u32>(state, load<u32>(rows + R_ERR_A));
    store<u32>(state, load<u32>(rows + R_ERR_B), 4);
  }
  return status;
}

/** Bytes of scratch {@link png_reduce} needs: the inflater's and its row state. */
export function png_reduce_scratch_bytes(): i32 {
  return SCRATCH_BYTES + ROW_STATE_BYTES;
}

/**
 * Hands the complete scanlines before `op` in the window at `buf` to the row state, adds the bytes
 * not yet summed to its Adler-32, and drops from the window's front all but the last 32 KB and the
 * unfinished scanline. Returns how far the window's contents moved down, or -status.
 */
function flush(rows: usize, buf: usize, op: usize): isize {
  const status = takeRows(rows, op);
  if (status != OK) return -status;
  const summed = <usize>load<u32>(rows + R_SUMMED);
  store<u32>(rows + R_ADLER, adler32(load<u32>(rows + R_ADLER), summed, <i32>(op - summed)));
  const cursor = <usize>load<u32>(rows + R_CURSOR);
  let keep = op - buf > HISTORY ? op - HISTORY : buf;
  if (cursor < keep) keep = cursor;
  const moved = keep - buf;
  if (moved > 0) memory.copy(buf, keep, op - keep);
  store<u32>(rows + R_CURSOR, cursor - moved);
  store<u32>(rows + R_SUMMED, op - moved);
  return <isize>moved;
}

/**
 * Pixels along one axis (`axis` 0: columns, 1: rows) of Adam7 pass `pass` of an image `size` pixels
 * that way, or `size` itself when the image is not interlaced.
 */
// @ts-ignore: decorator
@inline
function passSide(pass: i32, interlaced: i32, size: i32, axis: i32): i32 {
  if (!interlaced) return size;
  const first = <i32>load<u8>(ADAM7 + (pass << 2) + axis), step = <i32>load<u8>(ADAM7 + (pass << 2) + 2 + axis);
  return size <= first ? 0 : (size - first + step - 1) / step;
}

/** Adam7 pass `pass`'s first column or row (`field` 0, 1) or column or row step (2, 3); 0 or 1 when not interlaced. */
// @ts-ignore: decorator
@inline
function passField(pass: i32, interlaced: i32, field: i32): i32 {
  return interlaced ? <i32>load<u8>(ADAM7 + (pass << 2) + field) : field >> 1;
}

/**
 * Unfilters, converts and sums every complete scanline from the row state's cursor to `end`, pass
 * by pass. Without interlacing a block row is averaged as soon as it is complete; with it, every
 * block row once the last pass is.
 */
function takeRows(rows: usize, end: usize): i32 {
  const interlaced = load<i32>(rows + R_INTERLACED);
  const passes = interlaced ? 7 : 1;
  const height = load<i32>(rows + R_HEIGHT);
  const width = load<i32>(rows + R_WIDTH);
  const depth = load<i32>(rows + R_DEPTH);
  const colourType = load<i32>(rows + R_COLOUR);
  const shift = load<i32>(rows + R_SHIFT);
  const sums = <usize>load<u32>(rows + R_SUMS);
  const channels = colourType == 0 || colourType == 3 ? 1 : colourType == 2 ? 3 : colourType == 4 ? 2 : 4;
  const bpp = max(1, (channels * depth) >> 3);
  const rgbaRow = <usize>load<u32>(rows + R_RGBA);
  const blocks = <usize>(((width - 1) >> shift) + 1);
  let pass = load<i32>(rows + R_PASS);
  const wasTaking = pass < passes;
  let p = <usize>load<u32>(rows + R_CURSOR);
  let y = load<i32>(rows + R_Y);
  let prev = <usize>load<u32>(rows + R_PREV);
  let cur = <usize>load<u32>(rows + R_CUR);
  while (pass < passes) {
    const w = passSide(pass, interlaced, width, 0);
    if (w == 0 || y >= passSide(pass, interlaced, height, 1)) {
      pass++;
      y = 0;
      continue;
    }
    const rowBytes = <usize>((<i64>w * channels * depth + 7) >> 3);
    if (end - p <= rowBytes) break;
    const x0 = passField(pass, interlaced, 0), dx = passField(pass, interlaced, 2);
    const imageY = passField(pass, interlaced, 1) + y * passField(pass, interlaced, 3);
    const f = <i32>load<u8>(p);
    if (f > 4) return rowError(rows, f, imageY, BAD_FILTER);
    // Unfiltered beside the window, not in it: the window's bytes are the history later matches copy.
    memory.copy(cur, p + 1, rowBytes);
    unfilter(cur, y > 0 ? prev : 0, rowBytes, bpp, f);
    const bad = convertRow(cur, w, depth, colourType, load<u32>(rows + R_PALETTE), load<i32>(rows + R_COLOURS), rgbaRow, 4);
    if (bad >= 0) return rowError(rows, x0 + bad * dx, imageY, BAD_INDEX);
    if (interlaced) {
      sumPixels(rgbaRow, w, x0, dx, sums + ((<usize>(imageY >> shift) * blocks) << 3), shift);
    } else {
      sumRow(rgbaRow, width, shift, sums);
      if ((y & ((1 << shift) - 1)) == (1 << shift) - 1 || y == height - 1) {
        averageBlocks(sums, width, (y & ((1 << shift) - 1)) + 1, shift, <usize>load<u32>(rows + R_DST) + <usize>(y >> shift) * (blocks << 2));
      }
    }
    const t = prev;
    prev = cur;
    cur = t;
    p += rowBytes + 1;
    y++;
  }
  if (interlaced && wasTaking && pass == passes) {
    const side = 1 << shift;
    const dst = <usize>load<u32>(rows + R_DST);
    for (let by = 0; by << shift < height; by++) {
      averageBlocks(sums + ((<usize>by * blocks) << 3), width, min(side, height - (by << shift)), shift, dst + <usize>by * (blocks << 2));
    }
  }
  store<u32>(rows + R_CURSOR, p);
  store<u32>(rows + R_PASS, pass);
  store<u32>(rows + R_Y, y);
  store<u32>(rows + R_PREV, prev);
  store<u32>(rows + R_CUR, cur);
  return OK;
}

/** Adds the `w` RGBA pixels at `rgba`, at columns x0, x0 + dx, ..., into the u16 sums of their blocks in the block row at `sums`. */
function sumPixels(rgba: usize, w: i32, x0: i32, dx: i32, sums: usize, shift: i32): void {
  for (let i = 0; i < w; i++) {
    const at = sums + (<usize>((x0 + i * dx) >> shift) << 3);
    const px = i16x8.extend_low_i8x16_u(v128.load32_zero(rgba + (<usize>i << 2)));
    v128.store64_lane(at, i16x8.add(v128.load64_zero(at), px), 0);
  }
}

function rowError(rows: usize, a: i32, b: i32, status: i32): i32 {
  store<u32>(rows + R_ERR_A, a);
  store<u32>(rows + R_ERR_B, b);
  return status;
}

/** Adds the `width` RGBA pixels at `rgba` into the u16 sums of their blocks, 2^shift (>= 2) pixels to a block. */
function sumRow(rgba: usize, width: i32, shift: i32, sums: usize): void {
  // Pixels 2k and 2k+1 share a block: each pair is added as one vector of two u16 pixels folded in half.
  const pairs = width >> 1;
  for (let k = 0; k < pairs; k++) {
    const px = i16x8.extend_low_i8x16_u(v128.load64_zero(rgba + (<usize>k << 3)));
    const both = i16x8.add(px, v128.shuffle<u16>(px, px, 4, 5, 6, 7, 4, 5, 6, 7));
    const at = sums + ((<usize>((k << 1) >> shift)) << 3);
    v128.store64_lane(at, i16x8.add(v128.load64_zero(at), both), 0);
  }
  if (width & 1) {
    const x = width - 1;
    const at = sums + ((<usize>(x >> shift)) << 3);
    const from = rgba + (<usize>x << 2);
    for (let c = 0; c < 4; c++) store<u16>(at + (<usize>c << 1), load<u16>(at + (<usize>c << 1)) + <u16>load<u8>(from + c));
  }
}

/**
 * Writes the mean of each block's sums to `out` (rounded half up: (sum + n / 2) / n) and clears
 * the sums; the block row has `blockRows` rows, the last block column the columns that are left.
 */
function averageBlocks(sums: usize, width: i32, blockRows: i32, shift: i32, out: usize): void {
  const side = 1 << shift;
  const blocks = ((width - 1) >> shift) + 1;
  for (let bx = 0; bx < blocks; bx++) {
    const n = <u32>(min(side, width - (bx << shift)) * blockRows);
    const at = sums + (<usize>bx << 3);
    for (let c = 0; c < 4; c++) {
      store<u8>(out + (<usize>bx << 2) + c, <u8>((<u32>load<u16>(at + (<usize>c << 1)) + (n >> 1)) / n));
    }
    store<u64>(at, 0);
  }
}
