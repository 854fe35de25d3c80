import { assert, assertEquals } from "../assert.ts";
import { bestAt, runBestAt, runSeconds, timeline } from "../../report/equal_time_section.ts";
import type { StudyResult, TrialRecord } from "../../search/records.ts";
import { Rng } from "../../data/rng.ts";

const metrics = (loss: number, acc: number) => ({ loss, acc });

/** A trial with the numbers the equal-time timeline reads; `hls` gives it HLS seconds and scores after HLS. */
function trial(i: number, o: { train: number; baseLoss: number; hls?: { seconds: number; loss: number } }): TrialRecord {
  const base = {
    train: metrics(o.baseLoss, 0.5),
    val: metrics(o.baseLoss, 1 - o.baseLoss / 10),
    test: metrics(o.baseLoss, 1 - o.baseLoss / 10),
  };
  const after = o.hls ? { val: metrics(o.hls.loss, 1 - o.hls.loss / 10), test: metrics(o.hls.loss, 1 - o.hls.loss / 10) } : undefined;
  return {
    index: i,
    generation: 0,
    genome: { layers: 1, neurons: [4], log10Lambda: -3 } as unknown as TrialRecord["genome"],
    key: `k${i}`,
    hidden: [4],
    lambda: 1e-3,
    parameters: 10,
    trainSeconds: o.train,
    base,
    hls: o.hls ? ({ seconds: o.hls.seconds, val: after!.val, test: after!.test } as unknown as TrialRecord["hls"]) : undefined,
    fitness: o.hls ? o.hls.loss : o.baseLoss,
    final: after ?? { val: base.val, test: base.test },
  };
}

function run(method: string, hls: boolean, trials: TrialRecord[]): StudyResult {
  const best = trials.reduce((a, b) => (b.fitness < a.fitness ? b : a));
  return { method, hls, seed: 1, trials, best, seconds: { total: 0, training: 0, hls: 0 } };
}

Deno.test("equal time: in the micro-GA a model is ready after its training and its HLS, in the order trained", () => {
  const r = run("microga", true, [
    trial(0, { train: 2, baseLoss: 3, hls: { seconds: 1, loss: 2 } }),
    trial(1, { train: 4, baseLoss: 1, hls: { seconds: 1, loss: 0.5 } }),
  ]);
  const tl = timeline(r);
  assertEquals(tl.own, undefined);
  assertEquals(tl.models.map((m) => m.at), [3, 8]);
  assertEquals(runBestAt(r, 2.9), undefined, "nothing is ready before the first model's HLS ends");
  assertEquals(runBestAt(r, 3)?.fitness, 2);
  assertEquals(runBestAt(r, 7.9)?.fitness, 2);
  assertEquals(runBestAt(r, 8)?.fitness, 0.5);
  assertEquals(runSeconds(r), 8);
});

Deno.test("equal time: with HLS after the search a run is the run without HLS until training ends, then its own scores", () => {
  // random search with HLS on its best model only: HLS starts when all are trained
  const r = run("random", true, [
    trial(0, { train: 2, baseLoss: 3 }),
    trial(1, { train: 2, baseLoss: 1, hls: { seconds: 5, loss: 0.2 } }),
  ]);
  const tl = timeline(r);
  assertEquals(tl.models.map((m) => m.at), [2, 4]);
  assertEquals(tl.own?.from, 4);
  assertEquals(tl.own?.models.map((m) => m.at), [4, 9], "the model left as trained at once, the fine-tuned one when its HLS ends");
  assertEquals(runBestAt(r, 3.9)?.fitness, 3, "as trained, before the end of training");
  // from the end of training the run scores with its own rule; the model under HLS stays there as trained until 9
  assertEquals(runBestAt(r, 4)?.fitness, 1);
  assertEquals(runBestAt(r, 8.9)?.testAcc, 0.9);
  assertEquals(runBestAt(r, 9)?.fitness, 0.2);
  assertEquals(runSeconds(r), 9);
});

Deno.test("equal time: a NaN loss never beats a number, and the best so far never worsens (property, 200 random runs)", () => {
  const rng = new Rng(7);
  for (let k = 0; k < 200; k++) {
    const n = 1 + Math.floor(rng.next() * 8);
    const trials = Array.from({ length: n }, (_, i) => {
      const loss = rng.next() < 0.2 ? NaN : rng.next() * 5;
      return trial(i, {
        train: 0.1 + rng.next(),
        baseLoss: loss,
        hls: { seconds: rng.next(), loss: Number.isNaN(loss) ? NaN : loss * rng.next() },
      });
    });
    const r = run("microga", true, trials);
    const tl = timeline(r);
    let prev = Infinity;
    for (const m of tl.models) {
      const b = bestAt(tl, m.at)!;
      assert(b !== undefined);
      const f = Number.isNaN(b.fitness) ? Infinity : b.fitness;
      assert(f <= prev, `best worsened at ${m.at}: ${f} after ${prev}`);
      prev = f;
      const ready = tl.models.filter((x) => x.at <= m.at && !Number.isNaN(x.fitness));
      if (ready.length) assertEquals(b.fitness, Math.min(...ready.map((x) => x.fitness)));
    }
  }
});
