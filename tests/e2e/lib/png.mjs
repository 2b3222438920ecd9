// png(w, h): a w x h RGB PNG made with node's zlib (a gradient, so it
// compresses like a picture, not like a blank), for the upload and
// thumbnail tests.
import { deflateSync, crc32 } from 'node:zlib';

export function png(w, h) {
    const rows = [];
    for (let y = 0; y < h; y++) {
        const row = Buffer.alloc(1 + 3 * w);
        for (let x = 0; x < w; x++) {
            row[1 + 3 * x] = (x * 7) & 255;
            row[2 + 3 * x] = (y * 5) & 255;
            row[3 + 3 * x] = 128;
        }
        rows.push(row);
    }
    const chunk = (type, data) => {
        const len = Buffer.alloc(4);
        len.writeUInt32BE(data.length);
        const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
        const crc = Buffer.alloc(4);
        crc.writeUInt32BE(crc32(td) >>> 0);
        return Buffer.concat([len, td, crc]);
    };
    const ihdr = Buffer.alloc(13);
    ihdr.writeUInt32BE(w, 0);
    ihdr.writeUInt32BE(h, 4);
    ihdr[8] = 8; // bit depth
    ihdr[9] = 2; // RGB
    return Buffer.concat([
        Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
        chunk('IHDR', ihdr), chunk('IDAT', deflateSync(Buffer.concat(rows))), chunk('IEND', Buffer.alloc(0)),
    ]);
}
