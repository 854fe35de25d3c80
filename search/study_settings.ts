// What a study is run with: the settings every search method shares, with and without HLS.
import type { HlsOptions } from "../bilevel/hls/hls_options.ts";
import type { SearchSpace } from "./space.ts";
import type { MicroGaOptions } from "./samplers.ts";
import type { TrainGenomesArgs } from "./train_genomes.ts";

/** Settings shared by every method. */
export interface StudySettings {
  space: SearchSpace;
  training: TrainGenomesArgs["training"];
  hls: HlsOptions;
  /** Lamarckian: the fine-tuned λ is written back into the genome; Baldwinian: only the fitness changes. */
  hlsMode: "lamarckian" | "baldwinian";
  budget: number;
  ga: MicroGaOptions;
  /**
   * Grid and random search only: fine-tune just the `hlsTop` models of lowest validation loss as trained;
   * the others are ranked as trained, on the same ranking data. Default: every model (the paper's way).
   */
  hlsTop?: number;
  /**
   * The micro-GA only: fine-tune just the offspring that, as trained, rank among the `gaHlsTop` best of the
   * population and their batch (scored on HLS's ranking data, as the population's fitness is); the others
   * enter as trained. Default: every model.
   */
  gaHlsTop?: number;
}
