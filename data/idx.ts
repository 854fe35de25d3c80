/** A parsed IDX file (the MNIST format): unsigned bytes with their dimensions. */
export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

/**
 * Parses an IDX file of unsigned bytes (type 0x08), as used by MNIST and Fashion-MNIST. Checks the magic
 * number, the number of dimensions expected and that the size matches the header; errors name the source.
 */
export function parseIdx(bytes: Uint8Array, source: string, expectedRank?: number): IdxArray {
  if (bytes.length < 4) throw new Error(`${source}: truncated IDX file (${bytes.length} bytes, no header)`);
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    throw new Error(`${source}: not an IDX file (magic bytes ${hex(bytes[0])} ${hex(bytes[1])}, expected 0x00 0x00)`);
  }
  if (bytes[2] !== 0x08) throw new Error(`${source}: IDX element type ${hex(bytes[2])}, expected 0x08 (unsigned byte)`);
  const rank = bytes[3];
  if (expectedRank !== undefined && rank !== expectedRank) {
    throw new Error(`${source}: IDX file has ${rank} dimensions, expected ${expectedRank}`);
  }
  const headerLen = 4 + 4 * rank;
  if (bytes.length < headerLen) throw new Error(`${source}: truncated IDX header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  for (let i = 0; i < rank; i++) dims.push(view.getUint32(4 + 4 * i, false));
  const count = dims.reduce((a, b) => a * b, 1);
  if (bytes.length !== headerLen + count) {
    throw new Error(`${source}: IDX header says ${dims.join("x")} = ${count} bytes of data, file has ${bytes.length - headerLen}`);
  }
  return { dims, data: bytes.subarray(headerLen) };
}

/** Encodes unsigned bytes as an IDX file (used by tests and to write fixtures). */
export function encodeIdx(dims: number[], data: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + 4 * dims.length + data.length);
  out[2] = 0x08;
  out[3] = dims.length;
  const view = new DataView(out.buffer);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  out.set(data, 4 + 4 * dims.length);
  return out;
}

function hex(b: number | undefined): string {
  return b === undefined ? "EOF" : `0x${b.toString(16).padStart(2, "0")}`;
}
