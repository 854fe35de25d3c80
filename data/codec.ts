/** One part of a data set (train, val or test): NHWC uint8 pixels and uint8 labels. */
export interface DataPart {
  x: Uint8Array;
  y: Uint8Array;
}

/** A data set with named parts, as the data stages store it. */
export interface StoredData {
  meta: {
    name: string;
    shape: [number, number, number];
    classes: number;
    counts: Record<string, number>;
    [k: string]: unknown;
  };
  parts: Record<string, DataPart>;
}

/**
 * Encodes a data set as compact files: `<part>-x.u8`, `<part>-y.u8` (raw bytes) and `meta.json`.
 * Normalisation happens when a model loads the data, not here.
 */
export function encodeData(d: StoredData): Record<string, Uint8Array> {
  const files: Record<string, Uint8Array> = {};
  const pix = d.meta.shape[0] * d.meta.shape[1] * d.meta.shape[2];
  for (const [name, p] of Object.entries(d.parts)) {
    if (p.x.length !== p.y.length * pix) {
      throw new Error(`part '${name}': ${p.x.length} pixel bytes for ${p.y.length} labels of ${pix} pixels`);
    }
    files[`${name}-x.u8`] = p.x;
    files[`${name}-y.u8`] = p.y;
  }
  files["meta.json"] = new TextEncoder().encode(JSON.stringify(d.meta, null, 1));
  return files;
}

/** Decodes what encodeData wrote, given a reader of files by name; checks sizes against the metadata. */
export async function decodeData(read: (name: string) => Promise<Uint8Array>): Promise<StoredData> {
  const meta = JSON.parse(new TextDecoder().decode(await read("meta.json"))) as StoredData["meta"];
  const pix = meta.shape[0] * meta.shape[1] * meta.shape[2];
  const parts: Record<string, DataPart> = {};
  for (const [name, n] of Object.entries(meta.counts)) {
    const x = await read(`${name}-x.u8`);
    const y = await read(`${name}-y.u8`);
    if (y.length !== n || x.length !== n * pix) {
      throw new Error(`data part '${name}': sizes do not match meta.json (${n} examples of ${pix} bytes)`);
    }
    parts[name] = { x, y };
  }
  return { meta, parts };
}
