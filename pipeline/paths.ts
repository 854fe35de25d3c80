import { fileURLToPath } from "node:url";

/** Converts a file:// URL to a path (thin seam over node:url until @std/path is reachable). */
export function fromFileUrl(url: string | URL): string {
  return fileURLToPath(url);
}
