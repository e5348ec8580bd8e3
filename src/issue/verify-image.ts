/**
 * Proves a PNG, JPEG or GIF is whole: `image-size` reads only the header, so a picture
 * cut off in a copy or a failed download passes it, and shows as a grey box or half a
 * picture in the inbox. No pixel decoding beyond what proves the file complete:
 *
 * - PNG: the signature; every chunk fits the file and its CRC-32 matches; IHDR first
 *   (a valid size, bit depth and colour type), PLTE before the data of a palette image,
 *   IDAT present, IEND last; the IDAT data inflates to its end, and to exactly the bytes
 *   the header's size implies (each row starting with a valid filter byte).
 * - JPEG: SOI; every marker segment's length fits; a frame header before the first scan;
 *   each scan's entropy-coded data runs to the next marker; the file ends with EOI.
 * - GIF: header, logical screen descriptor and global colour table; each extension and
 *   image (descriptor, local colour table, LZW data sub-blocks) fits; at least one image;
 *   the trailer (0x3B) at the end.
 *
 * Bytes after the end (after IEND, EOI or the GIF trailer) are ignored, as browsers do.
 * Cheap: a 300 KB picture takes a few milliseconds (the PNG inflate is most of it).
 */
import zlib from 'node:zlib';

export type ImageKind = 'png' | 'jpeg' | 'gif';

export type VerifyResult =
  | { ok: true; kind: ImageKind }
  /**
   * `damaged`: the file is cut off or corrupt; `too-large`: whole as far as checked, but
   * its pixels would take more memory than `maxDecodedBytes` to check (not an email picture).
   */
  | { ok: false; kind?: ImageKind; problem: 'damaged' | 'too-large'; reason: string };

export interface VerifyOptions {
  /** A PNG whose decoded pixel data would be larger than this is refused before inflating it. @default 256 MiB */
  maxDecodedBytes?: number;
}

const CUT = 'the file ends in the middle of its image data';

class Damaged extends Error {
  constructor(
    readonly reason: string,
    readonly problem: 'damaged' | 'too-large' = 'damaged',
  ) {
    super(reason);
  }
}

/** The picture's format from its first bytes, or undefined. */
export function imageKind(data: Uint8Array): ImageKind | undefined {
  if (data.length >= 8 && PNG_SIGNATURE.every((b, i) => data[i] === b)) return 'png';
  if (data.length >= 3 && data[0] === 0xff && data[1] === 0xd8 && data[2] === 0xff) return 'jpeg';
  if (data.length >= 6 && /^GIF8[79]a$/.test(Buffer.from(data.subarray(0, 6)).toString('latin1'))) return 'gif';
  return undefined;
}

/** Whether `data` is a whole PNG, JPEG or GIF; when not, a short reason ("chunk IDAT is damaged (checksum)"). */
export function verifyImage(data: Uint8Array, options: VerifyOptions = {}): VerifyResult {
  const buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const kind = imageKind(buf);
  if (!kind) return { ok: false, problem: 'damaged', reason: 'it does not start like a PNG, JPEG or GIF file' };
  try {
    if (kind === 'png') verifyPng(buf, options.maxDecodedBytes ?? 256 * 1024 * 1024);
    else if (kind === 'jpeg') verifyJpeg(buf);
    else verifyGif(buf);
    return { ok: true, kind };
  } catch (err) {
    if (err instanceof Damaged) return { ok: false, kind, problem: err.problem, reason: err.reason };
    throw err;
  }
}

/* ---------------------------------------------------------------- PNG */

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

let crcTable: Uint32Array | undefined;
/** CRC-32 (ISO 3309, as PNG and zlib use): node:zlib's when this Node has it (20.15+), else a table. */
function crc32(data: Uint8Array): number {
  const native = (zlib as { crc32?: (d: Uint8Array) => number }).crc32;
  if (typeof native === 'function') return native(data) >>> 0;
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = crcTable[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** Samples a pixel has, by colour type. */
const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
/** Bit depths allowed, by colour type. */
const DEPTHS: Record<number, readonly number[]> = { 0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16] };
/** Adam7 passes: x start, y start, x step, y step. */
const ADAM7 = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
] as const;

/** Bytes per row (without the filter byte) and row count of each (non-empty) pass. */
function pngRows(width: number, height: number, bitsPerPixel: number, interlaced: boolean): { rowBytes: number; rows: number }[] {
  const passes = interlaced ? ADAM7 : ([[0, 0, 1, 1]] as const);
  const out: { rowBytes: number; rows: number }[] = [];
  for (const [x0, y0, dx, dy] of passes) {
    const w = width > x0 ? Math.ceil((width - x0) / dx) : 0;
    const h = height > y0 ? Math.ceil((height - y0) / dy) : 0;
    if (w && h) out.push({ rowBytes: Math.ceil((w * bitsPerPixel) / 8), rows: h });
  }
  return out;
}

function verifyPng(buf: Buffer, maxDecodedBytes: number): void {
  let pos = 8;
  let ihdr: { width: number; height: number; depth: number; colour: number; interlace: number } | undefined;
  let sawPlte = false;
  let sawIend = false;
  const idat: Buffer[] = [];
  while (!sawIend) {
    if (pos === buf.length) throw new Damaged(idat.length ? 'the file ends before its end chunk (IEND)' : CUT);
    if (pos + 8 > buf.length) throw new Damaged(CUT);
    const length = buf.readUInt32BE(pos);
    const type = buf.toString('latin1', pos + 4, pos + 8);
    if (!/^[A-Za-z]{4}$/.test(type)) throw new Damaged(`a chunk at byte ${pos} has no valid name`);
    if (length > 0x7fffffff || pos + 12 + length > buf.length)
      throw new Damaged(
        type === 'IEND'
          ? 'the file ends in the middle of its end chunk (IEND)'
          : type === 'IDAT' || idat.length
            ? CUT
            : `the file ends in the middle of chunk ${type}`,
      );
    const body = buf.subarray(pos + 8, pos + 8 + length);
    if (crc32(buf.subarray(pos + 4, pos + 8 + length)) !== buf.readUInt32BE(pos + 8 + length)) throw new Damaged(`chunk ${type} is damaged (checksum)`);
    if (!ihdr && type !== 'IHDR') throw new Damaged('the header chunk (IHDR) is not first');
    switch (type) {
      case 'IHDR': {
        if (ihdr) throw new Damaged('it has two header chunks (IHDR)');
        if (length !== 13) throw new Damaged('the header chunk (IHDR) has the wrong length');
        ihdr = { width: body.readUInt32BE(0), height: body.readUInt32BE(4), depth: body[8]!, colour: body[9]!, interlace: body[12]! };
        if (!ihdr.width || !ihdr.height || ihdr.width > 0x7fffffff || ihdr.height > 0x7fffffff) throw new Damaged('the header gives no valid picture size');
        if (!DEPTHS[ihdr.colour]?.includes(ihdr.depth)) throw new Damaged(`the header gives an invalid colour type ${ihdr.colour} / bit depth ${ihdr.depth}`);
        if (body[10] !== 0 || body[11] !== 0 || ihdr.interlace > 1) throw new Damaged('the header gives an unknown compression, filter or interlace method');
        break;
      }
      case 'PLTE':
        sawPlte = true;
        break;
      case 'IDAT':
        idat.push(body);
        break;
      case 'IEND':
        sawIend = true;
        break;
    }
    pos += 12 + length;
  }
  if (!ihdr || !idat.length) throw new Damaged('it has no image data (IDAT)');
  if (ihdr.colour === 3 && !sawPlte) throw new Damaged('it is a palette picture without its palette (PLTE)');

  const bitsPerPixel = CHANNELS[ihdr.colour]! * ihdr.depth;
  const passes = pngRows(ihdr.width, ihdr.height, bitsPerPixel, ihdr.interlace === 1);
  const expected = passes.reduce((n, p) => n + (p.rowBytes + 1) * p.rows, 0);
  if (expected > maxDecodedBytes) {
    throw new Damaged(`it is ${ihdr.width} x ${ihdr.height} pixels, ${Math.round(expected / 1024 / 1024)} MB once decoded`, 'too-large');
  }
  let pixels: Buffer;
  try {
    // The default finishFlush (Z_FINISH) makes a stream cut short an error ("unexpected end of file"),
    // and maxOutputLength stops one that holds more than the header's size implies.
    pixels = zlib.inflateSync(idat.length === 1 ? idat[0]! : Buffer.concat(idat), { maxOutputLength: Math.max(expected, 1) });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ERR_BUFFER_TOO_LARGE') throw new Damaged('its image data is longer than the picture size says');
    if (code === 'Z_BUF_ERROR') throw new Damaged(CUT);
    throw new Damaged('its image data is damaged (it does not decompress)');
  }
  if (pixels.length !== expected) throw new Damaged(CUT);
  // Each row starts with its filter type, 0-4: cheap, and catches data damaged before the checksums were made.
  let at = 0;
  for (const { rowBytes, rows } of passes) {
    for (let r = 0; r < rows; r++, at += rowBytes + 1) if (pixels[at]! > 4) throw new Damaged('its image data is damaged (a row with an unknown filter)');
  }
}

/* ---------------------------------------------------------------- JPEG */

function verifyJpeg(buf: Buffer): void {
  let pos = 2; // after SOI
  let frame = false;
  let scans = 0;
  for (;;) {
    if (pos >= buf.length) throw new Damaged(scans ? CUT : 'the file ends before its image data');
    // Stray bytes before a marker are skipped, as libjpeg and browsers do (the EOI must still come).
    if (buf[pos] !== 0xff) {
      const ff = buf.indexOf(0xff, pos);
      if (ff < 0) throw new Damaged(scans ? CUT : 'the file ends before its image data');
      pos = ff;
    }
    // Any number of 0xFF fill bytes may come before a marker.
    while (pos < buf.length && buf[pos] === 0xff) pos++;
    if (pos >= buf.length) throw new Damaged(scans ? CUT : 'the file ends before its image data');
    const marker = buf[pos++]!;
    if (marker === 0xd9) return; // EOI
    if (marker === 0xd8 || marker === 0x00) throw new Damaged(`an unexpected marker at byte ${pos - 2}`);
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) continue; // TEM, RSTn: no length
    if (pos + 2 > buf.length) throw new Damaged(scans ? CUT : 'the file ends in the middle of its headers');
    const length = buf.readUInt16BE(pos);
    if (length < 2) throw new Damaged(`a segment at byte ${pos - 2} has an invalid length`);
    if (pos + length > buf.length) throw new Damaged(scans ? CUT : 'the file ends in the middle of its headers');
    // SOF0-SOF15, except DHT (C4), JPG (C8) and DAC (CC).
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) frame = true;
    pos += length;
    if (marker !== 0xda) continue;
    // SOS: entropy-coded data runs to the next marker that is not a stuffed 0xFF00 or a restart marker.
    if (!frame) throw new Damaged('image data comes before the frame header');
    scans++;
    for (;;) {
      const ff = buf.indexOf(0xff, pos);
      if (ff < 0 || ff + 1 >= buf.length) throw new Damaged(CUT);
      const next = buf[ff + 1]!;
      if (next === 0x00 || (next >= 0xd0 && next <= 0xd7)) {
        pos = ff + 2;
        continue;
      }
      if (next === 0xff) {
        // Fill bytes: the marker follows them.
        pos = ff + 1;
        let f = ff + 1;
        while (f < buf.length && buf[f] === 0xff) f++;
        if (f >= buf.length) throw new Damaged(CUT);
        if (buf[f] === 0x00 || (buf[f]! >= 0xd0 && buf[f]! <= 0xd7)) {
          pos = f + 1;
          continue;
        }
        pos = f - 1;
        break;
      }
      pos = ff;
      break;
    }
  }
}

/* ---------------------------------------------------------------- GIF */

function verifyGif(buf: Buffer): void {
  if (buf.length < 13) throw new Damaged('the file ends in the middle of its header');
  let pos = 13;
  const screen = buf[10]!;
  if (screen & 0x80) pos += 3 * 2 ** ((screen & 7) + 1);
  let images = 0;
  const subBlocks = (what: string) => {
    for (;;) {
      if (pos >= buf.length) throw new Damaged(what);
      const size = buf[pos]!;
      pos += 1 + size;
      if (size === 0) return;
    }
  };
  for (;;) {
    if (pos >= buf.length) throw new Damaged(images ? 'the file ends before its end marker (trailer)' : CUT);
    const block = buf[pos]!;
    if (block === 0x3b) {
      if (!images) throw new Damaged('it has no image');
      return;
    }
    if (block === 0x21) {
      if (pos + 2 > buf.length) throw new Damaged(CUT);
      pos += 2; // introducer, label
      subBlocks(CUT);
    } else if (block === 0x2c) {
      if (pos + 10 > buf.length) throw new Damaged(CUT);
      const width = buf.readUInt16LE(pos + 5);
      const height = buf.readUInt16LE(pos + 7);
      const packed = buf[pos + 9]!;
      if (!width || !height) throw new Damaged('an image in it has no size');
      pos += 10;
      if (packed & 0x80) pos += 3 * 2 ** ((packed & 7) + 1);
      if (pos >= buf.length) throw new Damaged(CUT);
      const codeSize = buf[pos++]!;
      if (codeSize < 1 || codeSize > 11) throw new Damaged('its image data is damaged (LZW code size)');
      subBlocks(CUT);
      images++;
    } else {
      throw new Damaged(`an unknown block at byte ${pos}`);
    }
  }
}
