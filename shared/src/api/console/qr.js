// A QR code encoder (ISO/IEC 18004), small on purpose: byte mode, error correction level M,
// versions 1–20 (up to 666 bytes — a Pix BR Code is a few hundred at most). The console draws
// the Pix QR itself when the gateway sent only the copy-and-paste code (the simulator, Stripe),
// so the operator sees what the payer scans. Drawn as SVG rects: no canvas, nothing inline.
import { s } from "./ui.js";

// Level M, per version: [EC codewords per block, blocks in group 1, data codewords per block
// in group 1, blocks in group 2 (each one data codeword more)].
const EC_M = [null,
  [10, 1, 16, 0], [16, 1, 28, 0], [26, 1, 44, 0], [18, 2, 32, 0], [24, 2, 43, 0],
  [16, 4, 27, 0], [18, 4, 31, 0], [22, 2, 38, 2], [22, 3, 36, 2], [26, 4, 43, 1],
  [30, 1, 50, 4], [22, 6, 36, 2], [22, 8, 37, 1], [24, 4, 40, 5], [24, 5, 41, 5],
  [28, 7, 45, 3], [28, 10, 46, 1], [26, 9, 43, 4], [26, 3, 44, 11], [26, 3, 41, 13]];

/** Codewords (data + EC) a version holds: its modules less the function patterns, over 8. */
export function totalCodewords(v) {
  let n = (16 * v + 128) * v + 64;
  if (v >= 2) {
    const k = Math.floor(v / 7) + 2;
    n -= (25 * k - 10) * k - 55;
    if (v >= 7) n -= 36;
  }
  return Math.floor(n / 8);
}

function dataCodewords(v) {
  const [, b1, d1, b2] = EC_M[v];
  return b1 * d1 + b2 * (d1 + 1);
}

// GF(256) over x^8 + x^4 + x^3 + x^2 + 1.
function mul(a, b) {
  let r = 0;
  for (let i = 7; i >= 0; i--) {
    r = (r << 1) ^ ((r >>> 7) * 0x11d);
    r ^= ((b >>> i) & 1) * a;
  }
  return r & 0xff;
}
function generator(degree) {
  const g = new Array(degree).fill(0); g[degree - 1] = 1;
  let root = 1;
  for (let i = 0; i < degree; i++) {
    for (let j = 0; j < degree; j++) {
      g[j] = mul(g[j], root);
      if (j + 1 < degree) g[j] ^= g[j + 1];
    }
    root = mul(root, 2);
  }
  return g;
}
function ecOf(data, degree) {
  const g = generator(degree); const r = new Array(degree).fill(0);
  for (const b of data) {
    const f = b ^ r.shift(); r.push(0);
    for (let i = 0; i < degree; i++) r[i] ^= mul(g[i], f);
  }
  return r;
}

/** The codewords to place: data in blocks, each with its EC, interleaved. */
function codewords(bytes, v) {
  const cap = dataCodewords(v);
  const bits = [];
  const put = (val, n) => { for (let i = n - 1; i >= 0; i--) bits.push((val >>> i) & 1); };
  put(4, 4); put(bytes.length, v < 10 ? 8 : 16);
  for (const b of bytes) put(b, 8);
  put(0, Math.min(4, cap * 8 - bits.length));
  while (bits.length % 8) bits.push(0);
  const data = [];
  for (let i = 0; i < bits.length; i += 8) data.push(bits.slice(i, i + 8).reduce((a, b) => (a << 1) | b, 0));
  for (let pad = 0xec; data.length < cap; pad ^= 0xec ^ 0x11) data.push(pad);
  const [ec, b1, d1, b2] = EC_M[v];
  const blocks = []; let at = 0;
  for (let i = 0; i < b1 + b2; i++) {
    const len = d1 + (i < b1 ? 0 : 1);
    const d = data.slice(at, at + len); at += len;
    blocks.push({ d, e: ecOf(d, ec) });
  }
  const out = [];
  for (let i = 0; i <= d1; i++) for (const b of blocks) if (i < b.d.length) out.push(b.d[i]);
  for (let i = 0; i < ec; i++) for (const b of blocks) out.push(b.e[i]);
  return out;
}

function alignmentPositions(v, size) {
  if (v === 1) return [];
  const k = Math.floor(v / 7) + 2;
  const step = Math.ceil((v * 4 + 4) / (k * 2 - 2)) * 2;
  const out = [6];
  for (let p = size - 7; out.length < k; p -= step) out.splice(1, 0, p);
  return out;
}

const MASKS = [
  (x, y) => (x + y) % 2 === 0, (x, y) => y % 2 === 0, (x) => x % 3 === 0, (x, y) => (x + y) % 3 === 0,
  (x, y) => (Math.floor(x / 3) + Math.floor(y / 2)) % 2 === 0, (x, y) => ((x * y) % 2) + ((x * y) % 3) === 0,
  (x, y) => (((x * y) % 2) + ((x * y) % 3)) % 2 === 0, (x, y) => (((x + y) % 2) + ((x * y) % 3)) % 2 === 0];

/** The module matrix (true = dark) of `text`, or null when it is over 666 bytes. */
export function qrMatrix(text) {
  const bytes = [...new TextEncoder().encode(text)];
  let v = 1;
  while (v <= 20 && (v < 10 ? 2 : 3) + bytes.length > dataCodewords(v)) v++;
  if (v > 20) return null;
  const size = v * 4 + 17;
  const m = Array.from({ length: size }, () => new Array(size).fill(false));
  const fn = Array.from({ length: size }, () => new Array(size).fill(false));
  const set = (x, y, dark) => { m[y][x] = dark; fn[y][x] = true; };
  // Finder patterns with their separators.
  for (const [cx, cy] of [[3, 3], [size - 4, 3], [3, size - 4]]) {
    for (let dy = -4; dy <= 4; dy++) for (let dx = -4; dx <= 4; dx++) {
      const x = cx + dx, y = cy + dy;
      if (x < 0 || y < 0 || x >= size || y >= size) continue;
      const d = Math.max(Math.abs(dx), Math.abs(dy));
      set(x, y, d !== 2 && d !== 4);
    }
  }
  // Timing patterns.
  for (let i = 8; i < size - 8; i++) { set(6, i, i % 2 === 0); set(i, 6, i % 2 === 0); }
  // Alignment patterns (not over the finders).
  const al = alignmentPositions(v, size);
  for (const ay of al) for (const ax of al) {
    if ((ax === 6 && ay === 6) || (ax === 6 && ay === size - 7) || (ax === size - 7 && ay === 6)) continue;
    for (let dy = -2; dy <= 2; dy++) for (let dx = -2; dx <= 2; dx++) set(ax + dx, ay + dy, Math.max(Math.abs(dx), Math.abs(dy)) !== 1);
  }
  // Version information (v ≥ 7): 6 bits and a BCH(18,6) remainder, in both corners.
  if (v >= 7) {
    let r = v;
    for (let i = 0; i < 12; i++) r = (r << 1) ^ ((r >>> 11) * 0x1f25);
    const bits = (v << 12) | r;
    for (let i = 0; i < 18; i++) {
      const dark = ((bits >>> i) & 1) === 1; const a = size - 11 + (i % 3); const b = Math.floor(i / 3);
      set(a, b, dark); set(b, a, dark);
    }
  }
  const format = (mask) => {
    const d = mask; // level M is 00
    let r = d;
    for (let i = 0; i < 10; i++) r = (r << 1) ^ ((r >>> 9) * 0x537);
    const bits = ((d << 10) | r) ^ 0x5412;
    const bit = (i) => ((bits >>> i) & 1) === 1;
    for (let i = 0; i <= 5; i++) set(8, i, bit(i));
    set(8, 7, bit(6)); set(8, 8, bit(7)); set(7, 8, bit(8));
    for (let i = 9; i < 15; i++) set(14 - i, 8, bit(i));
    for (let i = 0; i < 8; i++) set(size - 1 - i, 8, bit(i));
    for (let i = 8; i < 15; i++) set(8, size - 15 + i, bit(i));
    set(8, size - 8, true);
  };
  format(0); // reserves the format areas before the data goes in
  const cw = codewords(bytes, v);
  let i = 0;
  for (let right = size - 1; right >= 1; right -= 2) {
    if (right === 6) right = 5;
    for (let vert = 0; vert < size; vert++) {
      for (let j = 0; j < 2; j++) {
        const x = right - j; const up = ((right + 1) & 2) === 0; const y = up ? size - 1 - vert : vert;
        if (fn[y][x]) continue;
        if (i < cw.length * 8) m[y][x] = ((cw[i >>> 3] >>> (7 - (i & 7))) & 1) === 1;
        i++;
      }
    }
  }
  // The mask with the lowest penalty (runs, 2×2 blocks, finder-like patterns, balance).
  let best = null;
  for (let k = 0; k < 8; k++) {
    const t = m.map((row, y) => row.map((d, x) => (fn[y][x] ? d : d !== MASKS[k](x, y))));
    const keep = m.map((row) => row.slice());
    for (let y = 0; y < size; y++) m[y] = t[y];
    format(k);
    const p = penalty(m, size);
    if (!best || p < best.p) best = { p, k, mat: m.map((row) => row.slice()) };
    for (let y = 0; y < size; y++) m[y] = keep[y];
  }
  return best.mat;
}

function penalty(m, size) {
  let p = 0; let dark = 0;
  const line = (get) => {
    let run = 1; let q = 0;
    for (let i = 1; i < size; i++) {
      if (get(i) === get(i - 1)) run++;
      else { if (run >= 5) q += run - 2; run = 1; }
    }
    if (run >= 5) q += run - 2;
    const pat = [true, false, true, true, true, false, true];
    for (let i = 0; i + 7 <= size; i++) {
      if (!pat.every((d, k) => get(i + k) === d)) continue;
      const before = i >= 4 && [1, 2, 3, 4].every((k) => !get(i - k));
      const after = i + 11 <= size && [7, 8, 9, 10].every((k) => !get(i + k));
      if (before || after) q += 40;
    }
    return q;
  };
  for (let y = 0; y < size; y++) p += line((x) => m[y][x]);
  for (let x = 0; x < size; x++) p += line((y) => m[y][x]);
  for (let y = 0; y + 1 < size; y++) for (let x = 0; x + 1 < size; x++) {
    const c = m[y][x];
    if (c === m[y][x + 1] && c === m[y + 1][x] && c === m[y + 1][x + 1]) p += 3;
  }
  for (const row of m) for (const d of row) if (d) dark++;
  p += Math.floor(Math.abs(dark * 20 - size * size * 10) / (size * size)) * 10;
  return p;
}

/** The QR of `text` as an SVG element (a 4-module quiet zone), or a note when it is too long. */
export function qrSvg(text, label) {
  const mat = qrMatrix(text);
  const n = mat ? mat.length + 8 : 1;
  const svg = s("svg", { viewBox: `0 0 ${n} ${n}`, role: "img", "aria-label": label, "data-test": "pix-qr", "shape-rendering": "crispEdges", class: "qr" });
  svg.append(s("rect", { x: 0, y: 0, width: n, height: n, fill: "#fff" }));
  if (mat) {
    let d = "";
    mat.forEach((row, y) => row.forEach((dark, x) => { if (dark) d += `M${x + 4} ${y + 4}h1v1h-1z`; }));
    svg.append(s("path", { d, fill: "#000" }));
    svg.dataset.size = String(mat.length);
  }
  return svg;
}
