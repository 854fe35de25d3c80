import { z } from "zod";
import type { Stage } from "../pipeline/stage.ts";
import { useBackend } from "../nn/backend.ts";
import { disposePart } from "../nn/data_tensors.ts";
import { type Metrics, trainNetwork, TrainOptions } from "../nn/train.ts";
import { cnnForward, cnnShapes, initCnn } from "../nn/cnn.ts";
import { Rng } from "../data/rng.ts";
import { LrMomWdGaOptions, nextGeneration, randomSgdGenome, type SgdGenome } from "../search/ga_lr_mom_wd.ts";
import { jsonWithVolatile, loadSplit } from "./_load.ts";

export const GaLrMomWdParams = z.strictObject({
  backend: z.enum(["wasm", "cpu", "tensorflow"]).default("wasm"),
  split: z.string(),
  /** baseline: one model with fixed SGD settings; run1..run4: the document's GA runs. */
  run: z.string(),
  mode: z.enum(["baseline", "ga"]),
  ga: LrMomWdGaOptions.default({
    population: 10,
    generations: 3,
    mutationRate: 0.1,
    ranges: { lr: [0.0001, 1], momentum: [0, 0.9], weightDecay: [0, 0.1] },
  }),
  baseline: z.strictObject({ lr: z.number().positive(), momentum: z.number().min(0).max(1), weightDecay: z.number().min(0) }).default({
    lr: 0.01,
    momentum: 0.5,
    weightDecay: 0,
  }),
  epochs: z.number().int().min(1).default(3),
  batchSize: z.number().int().min(1).default(64),
  stepGamma: z.number().positive().default(0.7),
  cnn: z.strictObject({
    conv1: z.number().int().min(1),
    conv2: z.number().int().min(1),
    hidden: z.number().int().min(1),
    dropout: z.tuple([z.number().min(0).max(0.95), z.number().min(0).max(0.95)]),
  }).default({ conv1: 8, conv2: 16, hidden: 64, dropout: [0.25, 0.5] }),
  seed: z.number().int().default(1),
  /** Marks a config that shrinks the document's protocol (fewer examples or epochs); shown in the report. */
  reduced: z.string().optional(),
});
export type GaLrMomWdParams = z.infer<typeof GaLrMomWdParams>;

/** ga-lr-mom-wd:<run>: seed 001's GA over SGD learning rate, momentum and weight decay (or its baseline). */
export function gaLrMomWdStage(params: z.input<typeof GaLrMomWdParams>): Stage<GaLrMomWdParams> {
  const dep = `subsample:${params.split}`;
  return {
    name: `ga-lr-mom-wd:${params.run}`,
    module: import.meta.url,
    deps: [{ stage: dep }],
    schema: GaLrMomWdParams,
    params,
    async run({ params: p, inputs, progress }) {
      const backend = await useBackend(p.backend);
      const d = await loadSplit(inputs[dep]);
      try {
        const [h, w, c] = d.shape;
        const spec = { height: h, width: w, channels: c, classes: d.classes, ...p.cnn };
        const fwd = cnnForward(spec);
        const rng = new Rng(p.seed);
        const t0 = performance.now();
        const total = p.mode === "baseline"
          ? 1
          : p.ga.population + (p.ga.generations - 1) * (p.ga.population - Math.max(1, Math.floor(p.ga.population / 2)));
        let trained = 0;
        const train = (g: SgdGenome, label: string) => {
          const out = trainNetwork(
            initCnn(spec, rng.fork(`init-${trained}`)),
            cnnShapes(spec),
            fwd,
            d.train,
            { groups: [], lambdas: [] },
            TrainOptions.parse({
              optimizer: "sgd",
              learningRate: g.lr,
              momentum: g.momentum,
              weightDecay: g.weightDecay,
              epochs: p.epochs,
              batchSize: p.batchSize,
              lrStep: { step: 1, gamma: p.stepGamma },
            }),
            rng.fork(`batches-${trained}`),
            { train: d.train, val: d.val },
            (e, s, per) =>
              progress(trained * p.epochs * per + (e - 1) * per + s, total * p.epochs * per, `${label} epoch ${e}/${p.epochs}`),
          );
          trained++;
          const last = out.history[out.history.length - 1];
          const finite = (m?: Metrics) => (m && Number.isFinite(m.loss) ? m : { loss: Number.POSITIVE_INFINITY, acc: 0 });
          return {
            genome: g,
            trainLoss: finite(last.train).loss,
            val: finite(last.val),
            fitness: finite(last.val).loss,
            history: out.history,
          };
        };
        type Scored = ReturnType<typeof train>;
        const generations: { generation: number; individuals: Scored[] }[] = [];
        if (p.mode === "baseline") {
          generations.push({ generation: 1, individuals: [train(p.baseline, "baseline")] });
        } else {
          let pop: Scored[] = [];
          for (let i = 0; i < p.ga.population; i++) pop.push(train(randomSgdGenome(p.ga, rng), `gen 1 individual ${i + 1}`));
          generations.push({ generation: 1, individuals: pop });
          for (let gen = 2; gen <= p.ga.generations; gen++) {
            const { survivors, children } = nextGeneration(pop, p.ga, rng);
            pop = [...survivors, ...children.map((g, i) => train(g, `gen ${gen} child ${i + 1}`))];
            generations.push({ generation: gen, individuals: pop });
          }
        }
        const last = generations[generations.length - 1].individuals;
        const all = generations.flatMap((g) => g.individuals);
        const best = all.reduce((a, b) => (b.fitness < a.fitness ? b : a));
        const finiteTrain = last.map((i) => i.trainLoss).filter(Number.isFinite);
        return {
          ...jsonWithVolatile("result.json", {
            run: p.run,
            mode: p.mode,
            backend,
            reduced: Boolean(p.reduced),
            reducedNote: p.reduced,
            meanFinalTrainLoss: finiteTrain.reduce((a, b) => a + b, 0) / Math.max(1, finiteTrain.length),
            diverged: last.length - finiteTrain.length,
            bestValLoss: best.fitness,
            best: { genome: best.genome, val: best.val },
            seconds: (performance.now() - t0) / 1000,
            modelsTrained: trained,
            generations: generations.map((g) => ({
              generation: g.generation,
              bestValLoss: Math.min(...g.individuals.map((i) => i.fitness)),
              individuals: g.individuals.map((i) => ({ genome: i.genome, trainLoss: i.trainLoss, val: i.val })),
            })),
          }),
        };
      } finally {
        [d.train, d.val, d.test].forEach(disposePart);
      }
    },
  };
}
