// What a study is run with: the settings every search method shares, with and without HLS. The schema is the
// science's; the stages that run studies take their parameters from it, adding only their defaults.
import { z } from "zod";
import { HlsOptions } from "../bilevel/hls/hls_options.ts";
import { TrainOptions } from "../nn/train_options.ts";
import { SearchSpace } from "./space.ts";
import { MicroGaOptions } from "./samplers.ts";

/** Settings shared by every method. */
export const StudySettings = z.strictObject({
  space: SearchSpace,
  training: TrainOptions,
  hls: HlsOptions,
  /** Lamarckian: the fine-tuned λ is written back into the genome; Baldwinian: only the fitness changes. */
  hlsMode: z.enum(["lamarckian", "baldwinian"]),
  /** Models trained per run; the micro-GA's is population + generations × offspring. */
  budget: z.number().int().min(1),
  ga: MicroGaOptions,
  /**
   * Grid and random search only: fine-tune just the `hlsTop` models of lowest validation loss as trained;
   * the others are ranked as trained, on the same ranking data. Default: every model (the paper's way).
   */
  hlsTop: z.number().int().min(1).optional(),
  /**
   * The micro-GA only: fine-tune just the offspring that, as trained, rank among the `gaHlsTop` best of the
   * population and their batch (scored on HLS's ranking data, as the population's fitness is); the others
   * enter as trained. Default: every model.
   */
  gaHlsTop: z.number().int().min(1).optional(),
});
export type StudySettings = z.infer<typeof StudySettings>;
