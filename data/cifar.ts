/** CIFAR-10 binary records: 1 label byte then 3,072 pixel bytes (1,024 R, 1,024 G, 1,024 B). */
export const CIFAR_RECORD_BYTES = 3073;
export const CIFAR_PIXELS = 3072;

/**
 * Parses one CIFAR-10 binary batch file into pixels (N×3072, channel-major as stored) and labels.
 * Checks the size is a whole number of records (and `expectedRecords` if given) and labels are 0-9.
 */
export function parseCifarBatch(bytes: Uint8Array, source: string, expectedRecords?: number): { images: Uint8Array; labels: Uint8Array } {
  if (bytes.length === 0 || bytes.length % CIFAR_RECORD_BYTES !== 0) {
    throw new Error(`${source}: ${bytes.length} bytes is not a whole number of ${CIFAR_RECORD_BYTES}-byte CIFAR-10 records`);
  }
  const n = bytes.length / CIFAR_RECORD_BYTES;
  if (expectedRecords !== undefined && n !== expectedRecords) {
    throw new Error(`${source}: ${n} records, expected ${expectedRecords}`);
  }
  const images = new Uint8Array(n * CIFAR_PIXELS);
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const off = i * CIFAR_RECORD_BYTES;
    const label = bytes[off];
    if (label > 9) throw new Error(`${source}: record ${i} has label ${label}, expected 0-9`);
    labels[i] = label;
    images.set(bytes.subarray(off + 1, off + CIFAR_RECORD_BYTES), i * CIFAR_PIXELS);
  }
  return { images, labels };
}
