// Generates the agent's icons (tray states and the app icon) as PNGs: a coloured disc with a ring.
// Run once (`node tray-agent/make-icons.mjs`); the PNGs are committed in tray-agent/assets.
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";

const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
const crc32 = (buf) => {
  let c = 0xffffffff;
  for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
};
const chunk = (type, data) => {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, "ascii"), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
};

function disc(size, [r, g, b]) {
  const raw = Buffer.alloc((size * 4 + 1) * size);
  const c = (size - 1) / 2;
  const outer = size * 0.47;
  const inner = size * 0.36;
  for (let y = 0; y < size; y++) {
    raw[y * (size * 4 + 1)] = 0;
    for (let x = 0; x < size; x++) {
      const d = Math.hypot(x - c, y - c);
      const o = y * (size * 4 + 1) + 1 + x * 4;
      const alpha = Math.max(0, Math.min(1, outer - d + 0.5));
      const ring = d > inner;
      raw[o] = ring ? Math.round(r * 0.7) : r;
      raw[o + 1] = ring ? Math.round(g * 0.7) : g;
      raw[o + 2] = ring ? Math.round(b * 0.7) : b;
      raw[o + 3] = Math.round(alpha * 255);
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 6; // RGBA
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", zlib.deflateSync(raw)),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

const out = path.join(import.meta.dirname, "assets");
fs.mkdirSync(out, { recursive: true });
fs.writeFileSync(path.join(out, "tray-connected.png"), disc(32, [46, 160, 67]));
fs.writeFileSync(path.join(out, "tray-offline.png"), disc(32, [140, 140, 140]));
fs.writeFileSync(path.join(out, "tray-waiting.png"), disc(32, [230, 140, 20]));
fs.writeFileSync(path.join(out, "icon.png"), disc(512, [33, 110, 200]));
