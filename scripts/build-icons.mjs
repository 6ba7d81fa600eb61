#!/usr/bin/env node
// Rasterises resources/build/icon.svg into the icons electron-builder packages (build/icons):
// png/<N>x<N>.png for Linux, icon.ico (PNG entries) for Windows, icon.icns (PNG entries) for
// macOS. It reads the flat SVG subset the icon uses (rect with rx, circle, polygon; solid
// fills) and anti-aliases by supersampling, so no image tool beyond pngjs is needed.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const source = path.join(root, 'resources', 'build', 'icon.svg');
const outDir = path.join(root, 'build', 'icons');

const svg = readFileSync(source, 'utf8').replace(/<!--[\s\S]*?-->/g, '');
const viewBox = /viewBox="([^"]+)"/.exec(svg)?.[1].split(/[\s,]+/).map(Number);
if (!viewBox || viewBox.length !== 4) throw new Error(`${source}: the root <svg> needs a viewBox`);

function attrs(text) {
  return Object.fromEntries([...text.matchAll(/([\w-]+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
}

function colour(fill, where) {
  const m = /^#([0-9a-f]{6})$/i.exec(fill ?? '');
  if (!m) throw new Error(`${source}: ${where} needs a fill of the form #rrggbb, got ${fill}`);
  const n = parseInt(m[1], 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

/** Each shape as an inside(x, y) test in viewBox units, painted in document order. */
const shapes = [...svg.matchAll(/<(rect|circle|polygon)\b([^>]*)>/g)].map(([, tag, text], i) => {
  const a = attrs(text);
  const fill = colour(a.fill, `<${tag}> #${i + 1}`);
  if (tag === 'rect') {
    const [x, y, w, h] = ['x', 'y', 'width', 'height'].map((k) => Number(a[k] ?? 0));
    const r = Math.min(Number(a.rx ?? 0), w / 2, h / 2);
    return {
      fill,
      inside: (px, py) => {
        if (px < x || py < y || px > x + w || py > y + h) return false;
        const dx = Math.max(x + r - px, 0, px - (x + w - r));
        const dy = Math.max(y + r - py, 0, py - (y + h - r));
        return dx * dx + dy * dy <= r * r;
      },
    };
  }
  if (tag === 'circle') {
    const [cx, cy, r] = ['cx', 'cy', 'r'].map((k) => Number(a[k]));
    return { fill, inside: (px, py) => (px - cx) ** 2 + (py - cy) ** 2 <= r * r };
  }
  const pts = a.points.trim().split(/[\s,]+/).map(Number);
  return {
    fill,
    inside: (px, py) => {
      let odd = false;
      for (let i = 0, j = pts.length - 2; i < pts.length; j = i, i += 2) {
        const [xi, yi, xj, yj] = [pts[i], pts[i + 1], pts[j], pts[j + 1]];
        if (yi > py !== yj > py && px < ((xj - xi) * (py - yi)) / (yj - yi) + xi) odd = !odd;
      }
      return odd;
    },
  };
});
if (shapes.length === 0) throw new Error(`${source}: no <rect>, <circle> or <polygon> to draw`);

function render(size) {
  const png = new PNG({ width: size, height: size });
  const ss = size <= 64 ? 6 : size <= 256 ? 4 : 2;
  const [vx, vy, vw, vh] = viewBox;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      let r = 0, g = 0, b = 0, covered = 0;
      for (let sy = 0; sy < ss; sy++) {
        for (let sx = 0; sx < ss; sx++) {
          const px = vx + ((x + (sx + 0.5) / ss) / size) * vw;
          const py = vy + ((y + (sy + 0.5) / ss) / size) * vh;
          for (let k = shapes.length - 1; k >= 0; k--) {
            if (!shapes[k].inside(px, py)) continue;
            const f = shapes[k].fill;
            r += f[0]; g += f[1]; b += f[2]; covered++;
            break;
          }
        }
      }
      const o = (y * size + x) * 4;
      // Colour is averaged over covered samples only (straight alpha), alpha is the coverage.
      png.data[o] = covered ? Math.round(r / covered) : 0;
      png.data[o + 1] = covered ? Math.round(g / covered) : 0;
      png.data[o + 2] = covered ? Math.round(b / covered) : 0;
      png.data[o + 3] = Math.round((covered / (ss * ss)) * 255);
    }
  }
  return PNG.sync.write(png);
}

const sizes = [16, 24, 32, 48, 64, 128, 256, 512, 1024];
const pngs = new Map(sizes.map((s) => [s, render(s)]));
mkdirSync(path.join(outDir, 'png'), { recursive: true });
for (const [s, bytes] of pngs) writeFileSync(path.join(outDir, 'png', `${s}x${s}.png`), bytes);

// ICO: a directory of PNG images (Windows Vista and later read PNG entries).
const icoSizes = [16, 24, 32, 48, 64, 128, 256];
const header = Buffer.alloc(6 + 16 * icoSizes.length);
header.writeUInt16LE(1, 2);
header.writeUInt16LE(icoSizes.length, 4);
let offset = header.length;
icoSizes.forEach((s, i) => {
  const e = 6 + 16 * i;
  header.writeUInt8(s === 256 ? 0 : s, e);
  header.writeUInt8(s === 256 ? 0 : s, e + 1);
  header.writeUInt16LE(1, e + 4);
  header.writeUInt16LE(32, e + 6);
  header.writeUInt32LE(pngs.get(s).length, e + 8);
  header.writeUInt32LE(offset, e + 12);
  offset += pngs.get(s).length;
});
writeFileSync(path.join(outDir, 'icon.ico'), Buffer.concat([header, ...icoSizes.map((s) => pngs.get(s))]));

// ICNS: big-endian type/length records holding PNG data.
const icnsTypes = [['icp4', 16], ['icp5', 32], ['icp6', 64], ['ic07', 128], ['ic08', 256], ['ic09', 512], ['ic10', 1024]];
const records = icnsTypes.map(([type, s]) => {
  const head = Buffer.alloc(8);
  head.write(type, 0, 'latin1');
  head.writeUInt32BE(8 + pngs.get(s).length, 4);
  return Buffer.concat([head, pngs.get(s)]);
});
const icnsHead = Buffer.alloc(8);
icnsHead.write('icns', 0, 'latin1');
icnsHead.writeUInt32BE(8 + records.reduce((n, r) => n + r.length, 0), 4);
writeFileSync(path.join(outDir, 'icon.icns'), Buffer.concat([icnsHead, ...records]));
console.log(`icons: ${sizes.length} PNG sizes, icon.ico, icon.icns in ${path.relative(root, outDir)}`);
