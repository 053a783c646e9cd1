/** Hand-built safetensors files: an 8-byte little-endian header length, the header bytes, the data. */
export function buildFile(header: string | Uint8Array, data: Uint8Array, { pad = true }: { pad?: boolean } = {}): Uint8Array {
  let h = typeof header === 'string' ? new TextEncoder().encode(header) : header;
  if (pad && h.length % 8) {
    const padded = new Uint8Array(h.length + (8 - (h.length % 8))).fill(0x20);
    padded.set(h);
    h = padded;
  }
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

/** The header length, header text and data start of a safetensors file (no validation). */
export function splitFile(bytes: Uint8Array): { headerLength: number; header: string; dataStart: number } {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(0, true));
  return { headerLength: n, header: new TextDecoder().decode(bytes.subarray(8, 8 + n)), dataStart: 8 + n };
}
