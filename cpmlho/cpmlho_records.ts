// What a CPMLHO run records and a cpmlho stage stores (result.json), apart from the study's TensorFlow.js code:
// the report checks a stored result without loading it. Fields are listed in the order the writers write them
// (cpmlho.ts runCpmlho, cpmlho_study.ts cpmlhoStudy, stages/cpmlho.ts), so that a record read back writes the same
// bytes; timings (keys ending in "seconds") are stored apart and merged back in on read (util/volatile.ts).
import { z } from "zod";
import { Metrics, StoredReal } from "../nn/train_options.ts";

/** Cutout holes and length (pixels). */
const Cutout = z.tuple([z.number(), z.number()]);

/** What a CPMLHO run records. */
export const CpmlhoResult = z.strictObject({
  /** Every tenth inner step: the dropout rates (and the CNN's cutout), μ, the cut's g and the training loss. */
  trajectory: z.array(z.strictObject({
    step: z.number().int().min(0),
    dropout: z.array(StoredReal),
    cutout: Cutout.optional(),
    mu: StoredReal,
    g: StoredReal.optional(),
    trainLoss: StoredReal,
  })),
  finalDropout: z.array(StoredReal),
  /** CNN only: final cutout holes and length (as applied: rounded). */
  finalCutout: Cutout.optional(),
  val: Metrics,
  test: Metrics,
  epochs: z.number().int().min(1),
  seconds: z.number(),
});
export type CpmlhoResult = z.output<typeof CpmlhoResult>;

/**
 * What a cpmlho stage stores (result.json) and the report reads: the data set and backend, then the study's
 * result (cpmlho_study.ts cpmlhoStudy): CPMLHO beside random search, BO and Δ-STN (not implemented: NaN, stored
 * as null).
 */
export const CpmlhoRecord = z.strictObject({
  dataset: z.string(),
  backend: z.string(),
  /** Whether the config shrinks the document's protocol, and how (its note). */
  reduced: z.boolean(),
  reducedNote: z.string().optional(),
  /** The network, in words. */
  model: z.string(),
  /** CPMLHO's epochs; the baselines' trials and epochs each, on the same total. */
  budget: z.strictObject({
    cpmlhoEpochs: z.number().int().min(1),
    baselineTrials: z.number().int().min(1),
    epochsPerTrial: z.number().int().min(1),
  }),
  /** The report's rows: random search, BO, Δ-STN and CPMLHO, each with what it tuned. */
  methods: z.array(z.strictObject({
    method: z.enum(["random", "bo", "deltaStn", "cpmlho"]),
    valLoss: StoredReal,
    valAcc: StoredReal,
    testAcc: StoredReal,
    tuned: z.string(),
  })),
  cpmlho: CpmlhoResult,
});
export type CpmlhoRecord = z.output<typeof CpmlhoRecord>;
