/** CRC-32 (IEEE 802.3, the zlib / PNG polynomial), as venues use for book checksums. */
const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** The running state before any text. */
export const CRC32_INIT = 0xffffffff;

/** Feeds the ASCII text `s` into a running CRC (so pieces need not be concatenated first). */
export function crc32Update(crc: number, s: string): number {
  let c = crc;
  for (let i = 0; i < s.length; i++) c = TABLE[(c ^ s.charCodeAt(i)) & 0xff]! ^ (c >>> 8);
  return c;
}

/** The CRC of a running state, as an unsigned 32-bit integer. */
export function crc32Final(crc: number): number {
  return (crc ^ 0xffffffff) >>> 0;
}

/** CRC-32 of the ASCII text `s` (characters above 0x7f are not expected), as an unsigned 32-bit integer. */
export function crc32Ascii(s: string): number {
  return crc32Final(crc32Update(CRC32_INIT, s));
}
