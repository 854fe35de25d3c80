import { meanStd, type MethodSummary } from "../search/summary.ts";
import type { StudyResult } from "../search/study.ts";
import { PAPER_TABLES, SEED001_RUNS, SEED003_TABLE } from "./paper_numbers.ts";
import {
  accuracyByHpSpec,
  convergenceSpec,
  lossAlongDirectionSpec,
  renderSvg,
  timingSpec,
  trajectorySpec,
  trialScatterSpec,
  type VlSpec,
} from "./charts.ts";
import { esc, fmt, pm, signed, type Table, tableHtml, tableMd } from "./format.ts";
import { type AblationOutput, ablationSection } from "./ablation_section.ts";

/** The search summary a search stage writes. */
export type SearchSummary = MethodSummary & {
  dataset: string;
  split: string;
  budget: string;
  backend: string;
  training: Record<string, unknown>;
};

/** The fine-tuning output of the lp-finetune stage. */
export interface FinetuneOutput {
  cases: {
    grouping: string;
    hyperparameters: number;
    improved: boolean;
    verdict: string;
    path: string;
    lpStatus?: string;
    notes: string[];
    blockSize: number;
    boxActive: number;
    dLambda: number[];
    lambdas: number[];
    before: { t: number; train: { loss: number; acc: number }; val: { loss: number; acc: number }; test?: { loss: number; acc: number } };
    best: { t: number; train: { loss: number; acc: number }; val: { loss: number; acc: number }; test?: { loss: number; acc: number } };
    line: { t: number; train: { loss: number }; val: { loss: number } }[];
    cost: { seconds: number; hvps: number; lpSeconds: number };
  }[];
}

/** Everything the report is made from: artifacts only, each with the digest it came from. */
export interface ReportInput {
  title: string;
  description: string;
  config: unknown;
  environment: Record<string, string>;
  /** Every upstream stage: its output digests, or why it did not run. */
  stages: { name: string; notRun?: string; digests: Record<string, string> }[];
  baseline?: {
    seconds: number;
    backend: string;
    history: {
      epoch: number;
      train?: { loss: number; acc: number };
      val?: { loss: number; acc: number };
      test?: { loss: number; acc: number };
    }[];
  };
  finetune?: FinetuneOutput;
  searches: { stage: string; summary: SearchSummary; studies?: { results: StudyResult[] } }[];
  gaLrMomWd?: { stage: string; result: Record<string, unknown> }[];
  ablations?: AblationOutput[];
  cpmlho?: { stage: string; result: Record<string, unknown> }[];
}

/** A rendered report. */
export interface Report {
  html: string;
  markdown: string;
  /** Figure name → SVG, also embedded in the HTML. */
  figures: Record<string, string>;
}

const METHOD_NAMES: Record<string, string> = { grid: "Grid search", random: "Random search", microga: "micro-GA" };

/** Builds the report: tables beside the papers' numbers, figures rendered by Vega to SVG, provenance. */
export async function buildReport(inp: ReportInput): Promise<Report> {
  const sections: { title: string; html: string[]; md: string[] }[] = [];
  const figures: Record<string, string> = {};
  const figure = async (name: string, spec: VlSpec, caption: string) => {
    const svg = await renderSvg(spec);
    figures[name] = svg;
    return {
      html: `<figure id="fig-${name}">${svg}<figcaption>${esc(caption)}</figcaption></figure>`,
      md: `_Figure ${name}: ${caption} (SVG in the HTML report)._\n`,
    };
  };
  const addTable = (sec: { html: string[]; md: string[] }, t: Table) => {
    sec.html.push(tableHtml(t));
    sec.md.push(tableMd(t));
  };

  // Not run
  const notRun = inp.stages.filter((s) => s.notRun);
  if (notRun.length) {
    const sec = { title: "Experiments not run", html: [] as string[], md: [] as string[] };
    addTable(sec, {
      caption: "Stages that did not run, and how to run them",
      head: ["stage", "reason"],
      rows: notRun.map((s) => [s.name, s.notRun!]),
    });
    sections.push(sec);
  }

  if (inp.ablations?.length) sections.push(await ablationSection(inp.ablations, figure, addTable));

  // Section II
  if (inp.finetune) {
    const sec = { title: "Section II: LP fine-tuning of one model (Figures 2-5)", html: [] as string[], md: [] as string[] };
    const ft = inp.finetune;
    const base = ft.cases[0]?.before;
    const rows = ft.cases.map((c) => [
      c.grouping === "perLayer" ? `${c.hyperparameters}HP (per layer)` : c.grouping,
      String(c.hyperparameters),
      fmt(c.before.val.loss),
      fmt(c.best.val.loss),
      fmt(c.before.val.acc),
      fmt(c.best.val.acc),
      fmt(c.best.test?.acc),
      fmt(c.best.t, 4),
      c.lambdas.map((l) => l.toExponential(2)).join(", "),
      `${c.path}${c.lpStatus ? ` (${c.lpStatus})` : ""}, block ${c.blockSize}, box binds on ${c.boxActive}`,
      c.cost.seconds.toFixed(1),
      c.verdict,
    ]);
    addTable(sec, {
      caption: "Fine-tuning the base model (λ = 0, trained by SGD to overfit) along the LP direction",
      head: [
        "λ groups",
        "#HP",
        "val loss before",
        "val loss after",
        "val acc before",
        "val acc after",
        "test acc after",
        "best t",
        "λ after",
        "solver",
        "seconds",
        "verdict",
      ],
      rows,
      note: base
        ? `Base model: validation accuracy ${fmt(base.val.acc)}, test accuracy ${
          fmt(base.test?.acc)
        }. The line search keeps the t with the lowest validation loss (t = 0 allowed), so validation loss cannot get worse; test accuracy can.`
        : undefined,
    });
    // Far along the direction the loss explodes; plot the informative part (losses under 2x the base model's).
    const lossRows = ft.cases.flatMap((c) =>
      c.line.filter((p) => p.val.loss <= 2 * c.before.val.loss && p.train.loss <= 2 * c.before.train.loss).flatMap((p) => [
        { grouping: `${c.hyperparameters}HP`, t: p.t, loss: p.train.loss, kind: "training loss" },
        { grouping: `${c.hyperparameters}HP`, t: p.t, loss: p.val.loss, kind: "validation loss" },
      ])
    );
    const f1 = await figure(
      "2-4",
      lossAlongDirectionSpec(lossRows),
      "Training and validation loss along the descent direction for 1HP, 2HP and 6HP (paper Figures 2-4); steps t where a loss exceeds twice the base model's are not drawn (every t is in the finetune.json artifact)",
    );
    const accRows = base
      ? [{ hyperparameters: 0, accuracy: base.val.acc, set: "validation" }, {
        hyperparameters: 0,
        accuracy: base.test?.acc ?? NaN,
        set: "test",
      }]
      : [];
    for (const c of ft.cases) {
      accRows.push({ hyperparameters: c.hyperparameters, accuracy: c.best.val.acc, set: "validation" }, {
        hyperparameters: c.hyperparameters,
        accuracy: c.best.test?.acc ?? NaN,
        set: "test",
      });
    }
    const f2 = await figure(
      "5",
      accuracyByHpSpec(accRows),
      "Validation and test accuracy against the number of hyperparameters; 0 is the base model (paper Figure 5)",
    );
    sec.html.push(f1.html, f2.html);
    sec.md.push(f1.md, f2.md);
    sections.push(sec);
  }

  // Section IV
  if (inp.searches.length) {
    const sec = {
      title: "Section IV: search with and without hyper local search (Tables II-III, Figures 8-9)",
      html: [] as string[],
      md: [] as string[],
    };
    const groups = new Map<string, typeof inp.searches>();
    for (const s of inp.searches) {
      const k = `${s.summary.dataset} · budget '${s.summary.budget}'`;
      if (!groups.has(k)) groups.set(k, []);
      groups.get(k)!.push(s);
    }
    for (const [k, list] of groups) {
      const ds = list[0].summary.dataset;
      const paper = PAPER_TABLES[ds];
      const training = list[0].summary.training;
      addTable(sec, {
        caption: `${k}: best model of 40 by validation loss, validation / test accuracy (mean ± std over seeds)`,
        head: [
          "method",
          "paper without HLS",
          "paper with HLS",
          "ours without HLS",
          "ours with HLS",
          "paired Δ val acc",
          "paired Δ test acc",
          "paired Δ val loss",
          "seeds where HLS lowered val loss",
        ],
        rows: list.map(({ summary: s }) => [
          METHOD_NAMES[s.method] ?? s.method,
          paper?.[s.method] ? `${fmt(paper[s.method].without[0])} / ${fmt(paper[s.method].without[1])}` : "–",
          paper?.[s.method] ? `${fmt(paper[s.method].with[0])} / ${fmt(paper[s.method].with[1])}` : "–",
          `${pm(s.without.valAcc)} / ${pm(s.without.testAcc)}`,
          `${pm(s.with.valAcc)} / ${pm(s.with.testAcc)}`,
          `${signed(s.pairedEffect.valAcc.mean)} ± ${fmt(s.pairedEffect.valAcc.std)}`,
          `${signed(s.pairedEffect.testAcc.mean)} ± ${fmt(s.pairedEffect.testAcc.std)}`,
          `${signed(s.pairedEffect.valLoss.mean)} ± ${fmt(s.pairedEffect.valLoss.std)}`,
          `${s.pairedEffect.seedsImproved} of ${s.pairedEffect.valLoss.n}`,
        ]),
        note: `Training budget: ${
          JSON.stringify(training)
        }. Grid and random search score the same 40 trained models without and with HLS (a paired comparison); the micro-GA runs twice from the same seed. Each batch of proposals (grid/random: all 40; micro-GA: the first 10, then each pair of offspring) is trained together with one shared, seeded batch order; each model keeps its own initialisation. ${
          paper ? "" : "The paper has no table for this data set."
        }`,
      });
      const byAcc = list.filter((s) => s.studies?.results.length).map(({ summary: s, studies }) => {
        const best = (r: StudyResult) => r.trials.reduce((a, b) => (b.final.val.acc > a.final.val.acc ? b : a));
        const pick = (h: boolean) => studies!.results.filter((r) => r.hls === h).map((r) => ({ seed: r.seed, t: best(r) }));
        const [wo, wi] = [pick(false), pick(true)];
        const paired = wo.map((a) => [a, wi.find((b) => b.seed === a.seed)] as const).filter(([, b]) => b);
        return [
          METHOD_NAMES[s.method] ?? s.method,
          `${pm(meanStd(wo.map((x) => x.t.final.val.acc)))} / ${pm(meanStd(wo.map((x) => x.t.final.test.acc)))}`,
          `${pm(meanStd(wi.map((x) => x.t.final.val.acc)))} / ${pm(meanStd(wi.map((x) => x.t.final.test.acc)))}`,
          `${signed(meanStd(paired.map(([a, b]) => b!.t.final.val.acc - a.t.final.val.acc)).mean)}`,
          `${signed(meanStd(paired.map(([a, b]) => b!.t.final.test.acc - a.t.final.test.acc)).mean)}`,
        ];
      });
      if (byAcc.length) {
        addTable(sec, {
          caption: `${k}: the same runs, best model chosen by validation accuracy instead of validation loss`,
          head: ["method", "without HLS: val / test acc", "with HLS: val / test acc", "paired Δ val acc", "paired Δ test acc"],
          rows: byAcc,
          note:
            "The paper does not say whether 'best' means lowest validation loss or highest validation accuracy. HLS minimises validation loss; the two criteria can disagree.",
        });
      }
      addTable(sec, {
        caption: `${k}: per seed`,
        head: [
          "method",
          "seed",
          "HLS",
          "best model (layers x neurons @ log10 λ)",
          "val acc",
          "test acc",
          "val loss",
          "λ moved by HLS / ended on a bound",
          "wall s",
          "HLS s",
        ],
        rows: list.flatMap(({ summary: s }) =>
          s.perSeed.map((
            p,
          ) => [
            METHOD_NAMES[s.method] ?? s.method,
            String(p.seed),
            p.hls ? "with" : "without",
            p.best,
            fmt(p.valAcc),
            fmt(p.testAcc),
            fmt(p.valLoss),
            p.lambdaMoved === undefined ? "–" : `${p.lambdaMoved} / ${p.lambdaOnBound}`,
            p.seconds.toFixed(1),
            p.hlsSeconds.toFixed(1),
          ])
        ),
      });
    }
    const conv = inp.searches.flatMap(({ summary: s }) =>
      (s.convergence ?? []).flatMap((c) =>
        c.best.map((b, g) => ({
          panel: `${s.dataset} · ${s.budget}`,
          generation: g,
          best: b,
          run: c.hls ? "with HLS" : "without HLS",
          seed: c.seed,
        }))
      )
    );
    if (conv.length) {
      const f = await figure(
        "8-9",
        convergenceSpec(conv),
        "micro-GA: best validation loss after the initial population (generation 0) and each generation, with and without HLS, one line per seed (paper Figures 8-9)",
      );
      sec.html.push(f.html);
      sec.md.push(f.md);
    }
    const scatter = inp.searches.flatMap(({ summary: s, studies }) =>
      (studies?.results ?? []).flatMap((r) =>
        r.trials.map((t) => ({
          panel: `${s.dataset} · ${s.budget} · ${r.hls ? "with" : "without"} HLS`,
          parameters: t.parameters,
          valAcc: t.final.val.acc,
          method: r.method,
          log10Lambda: t.genome.log10Lambda,
          hls: r.hls ? "with" : "without",
        }))
      )
    );
    if (scatter.length) {
      const f = await figure(
        "trials",
        trialScatterSpec(scatter),
        "Every trial: validation accuracy against parameter count, coloured by log10 λ",
      );
      sec.html.push(f.html);
      sec.md.push(f.md);
    }
    sections.push(sec);
  }

  // Other seeds
  if (inp.gaLrMomWd?.length) {
    const sec = { title: "Seed 001: GA over learning rate, momentum and weight decay", html: [] as string[], md: [] as string[] };
    addTable(sec, {
      caption: "Mean final training loss, best validation loss and total time, beside the document's numbers",
      head: [
        "run",
        "document: train loss",
        "document: best val loss",
        "document: minutes",
        "ours: train loss",
        "ours: best val loss",
        "ours: minutes",
        "reduced?",
      ],
      rows: inp.gaLrMomWd.map(({ result: r }) => {
        const run = String(r.run);
        const doc = SEED001_RUNS[run];
        return [
          run,
          fmt(doc?.trainLoss),
          fmt(doc?.bestValLoss),
          fmt(doc?.minutes, 2),
          fmt(r.meanFinalTrainLoss as number),
          fmt(r.bestValLoss as number),
          fmt((r.seconds as number) / 60, 2),
          r.reduced ? "yes: " + String(r.reducedNote ?? "") : "no",
        ];
      }),
      note:
        "A validation loss of 0.0236 on Fashion-MNIST (the document's baseline) is implausibly low for this CNN; we report what we measure. Runs share their seed, so they start from the same initial population (a paired design).",
    });
    const gens = inp.gaLrMomWd.flatMap(({ result: r }) =>
      ((r.generations ?? []) as { generation: number; bestValLoss: number }[]).map((g) => ({
        panel: "best validation loss per generation",
        step: g.generation,
        value: g.bestValLoss,
        series: String(r.run),
      }))
    );
    if (gens.length) {
      const f = await figure(
        "seed001-generations",
        trajectorySpec(gens, "generation", "best validation loss"),
        "Seed 001: best validation loss in each generation, per run",
      );
      sec.html.push(f.html);
      sec.md.push(f.md);
    }
    sections.push(sec);
  }
  if (inp.cpmlho?.length) {
    const sec = { title: "Seed 003: CPMLHO and its baselines", html: [] as string[], md: [] as string[] };
    addTable(sec, {
      caption: "Final validation loss beside the document's Table 1",
      head: ["data set", "method", "document", "ours: val loss", "ours: val acc", "ours: test acc", "tuned values", "reduced?"],
      rows: inp.cpmlho.flatMap(({ result: r }) =>
        (r.methods as { method: string; valLoss: number; valAcc: number; testAcc: number; tuned: string }[]).map((m) => [
          String(r.dataset),
          m.method,
          fmt(SEED003_TABLE[String(r.dataset)]?.[m.method], 3),
          fmt(m.valLoss),
          fmt(m.valAcc),
          fmt(m.testAcc),
          m.tuned,
          r.reduced ? "yes" : "no",
        ])
      ),
      note: inp.cpmlho.map(({ result: r }) => {
        const b = r.budget as { cpmlhoEpochs: number; baselineTrials: number; epochsPerTrial: number } | undefined;
        return b
          ? `${r.dataset}: ${
            String(r.model ?? "")
          }; CPMLHO trains one model for ${b.cpmlhoEpochs} epochs; random search and BO each train ${b.baselineTrials} models of ${b.epochsPerTrial} epochs (the same total), so each baseline model is trained far shorter.`
          : "";
      }).join(" ") + " Δ-STN, the document's third baseline, is not implemented.",
    });
    const traj = inp.cpmlho.flatMap(({ result: r }) => {
      const t = (r.cpmlho as { trajectory?: { step: number; dropout: number[] }[] } | undefined)?.trajectory ?? [];
      return t.flatMap((p) => p.dropout.map((v, l) => ({ panel: String(r.dataset), step: p.step, value: v, series: `dropout${l}` })));
    });
    if (traj.length) {
      const f = await figure(
        "cpmlho-dropout",
        trajectorySpec(traj, "inner step", "dropout rate"),
        "CPMLHO: the tuned dropout rates over training",
      );
      sec.html.push(f.html);
      sec.md.push(f.md);
    }
    sections.push(sec);
  }

  // Timing
  const timing: { stage: string; part: string; seconds: number }[] = [];
  if (inp.baseline) timing.push({ stage: "baseline-train", part: "training", seconds: inp.baseline.seconds });
  if (inp.finetune) {
    timing.push({
      stage: "lp-finetune",
      part: "HLS (LP solve)",
      seconds: inp.finetune.cases.reduce((a, c) => a + c.cost.lpSeconds, 0),
    }, {
      stage: "lp-finetune",
      part: "HLS (derivatives, line search)",
      seconds: inp.finetune.cases.reduce((a, c) => a + c.cost.seconds - c.cost.lpSeconds, 0),
    });
  }
  for (const { stage, summary: s } of inp.searches) {
    const train = s.perSeed.filter((p) => !p.hls || s.method === "microga").reduce((a, p) => a + p.seconds - p.hlsSeconds, 0);
    const hls = s.perSeed.reduce((a, p) => a + p.hlsSeconds, 0);
    timing.push({ stage, part: "training and evaluation", seconds: train }, { stage, part: "HLS", seconds: hls });
  }
  if (timing.length) {
    const sec = { title: "Where the time went", html: [] as string[], md: [] as string[] };
    const f = await figure(
      "timing",
      timingSpec(timing),
      "Seconds per stage, training versus hyper local search (from the timings recorded in each artifact)",
    );
    sec.html.push(f.html);
    sec.md.push(f.md);
    addTable(sec, {
      caption: "Seconds per stage",
      head: ["stage", "part", "seconds"],
      rows: timing.map((t) => [t.stage, t.part, t.seconds.toFixed(1)]),
    });
    sections.push(sec);
  }

  // Provenance
  const prov = { title: "Provenance", html: [] as string[], md: [] as string[] };
  addTable(prov, { caption: "Environment", head: ["what", "value"], rows: Object.entries(inp.environment).map(([k, v]) => [k, v]) });
  addTable(prov, {
    caption: "Every number above comes from these artifacts (sha256 of each stage output)",
    head: ["stage", "output", "sha256"],
    rows: inp.stages.flatMap((
      s,
    ) => (s.notRun ? [[s.name, "(not run)", s.notRun]] : Object.entries(s.digests).map(([n, d]) => [s.name, n, d]))),
  });
  prov.html.push(`<details><summary>Config</summary><pre>${esc(JSON.stringify(inp.config, null, 2))}</pre></details>`);
  prov.md.push("Config:\n\n```json\n" + JSON.stringify(inp.config, null, 2) + "\n```\n");
  sections.push(prov);

  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(inp.title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font-family:Helvetica,Arial,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222;line-height:1.45}
h1{font-size:1.6em}h2{font-size:1.25em;border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:1em 0;font-size:.85em}caption{text-align:left;font-weight:bold;padding:.3em 0}
th,td{border:1px solid #ccc;padding:.25em .5em;text-align:left;vertical-align:top}th{background:#f4f4f4}
tbody tr:nth-child(even){background:#fafafa}figure{margin:1.5em 0}figcaption{font-size:.85em;color:#555}
.note{font-size:.85em;color:#555;max-width:60em}pre{background:#f7f7f7;padding:1em;overflow:auto;font-size:.8em}
nav a{margin-right:1em}
</style></head><body>
<h1>${esc(inp.title)}</h1>
<p>${esc(inp.description)}</p>
<nav>${sections.map((s, i) => `<a href="#s${i}">${esc(s.title)}</a>`).join("")}</nav>
${sections.map((s, i) => `<section id="s${i}"><h2>${esc(s.title)}</h2>\n${s.html.join("\n")}</section>`).join("\n")}
</body></html>
`;
  const markdown = [`# ${inp.title}`, "", inp.description, "", ...sections.flatMap((s) => [`## ${s.title}`, "", ...s.md])].join("\n");
  return { html, markdown, figures };
}
