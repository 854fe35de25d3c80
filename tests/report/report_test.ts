import { inflateSync } from "node:zlib";
import { assert, assertEquals, assertMatch } from "../assert.ts";
import { buildReport, relativePaths, type ReportInput } from "../../report/build.ts";
import { compactStageNames, groupNotRun, rootCause } from "../../report/not_run.ts";
import { lossAlongDirectionSpec } from "../../report/charts.ts";
import { fillRunFacts, relativeTo, runFactsFromManifest } from "../../report/run_facts.ts";
import { mdText, tableCsv, tableMd } from "../../report/format.ts";
import { ablationInput, blockedBy, cifarNotRun, defaultScaleInput, finetuneInput, searchInput } from "../report_fixtures.ts";
import { protocolDifferences } from "../../report/protocol.ts";
import { PAPER_PROTOCOL } from "../../report/paper_numbers.ts";

/** A small run: MNIST, one budget, the micro-GA over 2 seeds of 6 models, a 3-seed ablation, CIFAR-10 not run. */
function fixture(): ReportInput {
  return {
    title: "Fixture report",
    description: "fixed artifacts",
    config: { splits: { mnist: { dataset: "mnist", nTrain: 500, nVal: 250, nTest: 1000 }, cifar10: { dataset: "cifar10" } } },
    splits: { mnist: { dataset: "mnist", nTrain: 500, nVal: 250, nTest: 1000 }, cifar10: { dataset: "cifar10" } },
    environment: { deno: "2.x", backend: "cpu" },
    stages: [
      ...cifarNotRun(["short"], [1, 2]),
      { name: "lp-finetune", digests: { "finetune.json": "ab".repeat(32) } },
      { name: "search:mnist:short:microga", digests: { "summary.json": "cd".repeat(32) } },
    ],
    finetune: finetuneInput(),
    searches: [searchInput({ dataset: "mnist", split: "mnist", budget: "short", method: "microga", seeds: [1, 2], models: 6, epochs: 1 })],
    ablations: [ablationInput({ dataset: "mnist", budget: "short", seeds: 3, models: 6, variants: ["paper", "log-heldout"] })],
  };
}

/** The paper's protocol: 5,000 / 2,500 / 10,000, 40 models, 1 epoch. */
function protocolFixture(): ReportInput {
  const f = fixture();
  f.config = { splits: { mnist: { dataset: "mnist" } } };
  f.splits = { mnist: { dataset: "mnist" } };
  f.stages = f.stages.filter((s) => !s.notRun);
  f.searches = ["grid", "microga"].map((method) =>
    searchInput({ dataset: "mnist", split: "mnist", budget: "short", method, seeds: [1, 2, 3], models: 40, epochs: 1 })
  );
  return f;
}

/** The HTML of one section, by id. */
function sectionHtml(html: string, id: string): string {
  const i = html.indexOf(`<section id="${id}">`);
  assert(i >= 0, `no section '${id}'`);
  return html.slice(i, html.indexOf("</section>", i));
}

Deno.test("findings come first: sentences and one table derived from the artifacts, no hard-coded counts", async () => {
  const r = await buildReport(fixture());
  assertMatch(r.html, /<nav>[\s\S]*?<\/nav>\s*<section id="findings">/);
  const f = sectionHtml(r.html, "findings");
  for (
    const s of [
      "best of 6 models",
      "over 2 seeds",
      "500 / 250 / 1,000",
      "6 × 2",
      "HLS ablation, mnist · short (3 seeds, best of 6 models)",
      "Not run: fetch:cifar10",
    ]
  ) {
    assert(f.includes(s), `findings lack '${s}'`);
  }
  assert(!/(best (model )?of|all) 40\b/.test(r.html), "no count of 40: this run has 6 models");
  assert(!r.html.includes("first 10"), "the micro-GA's population is derived, not assumed");
  assert(r.html.includes("micro-GA: the first 3, then each batch of 2 offspring"), "batch note derived from the studies");
  // the paired effect of the search has its 95% paired t interval (2 seeds)
  assertMatch(f, /[+−]\d\.\d{3} \[[+−]\d\.\d{3}, [+−]\d\.\d{3}\]/);
});

Deno.test("the paper's numbers stand only beside runs of its protocol, labelled as the paper's", async () => {
  const off = await buildReport(fixture());
  assert(!off.html.includes("0.7788") && !off.html.includes("0.7361"), "paper's Table II must not stand beside a 500-example, 6-model run");
  assert(sectionHtml(off.html, "findings").includes("paper 5,000 / 2,500 / 10,000"), "findings say why the paper is not shown");
  const on = await buildReport(protocolFixture());
  const f = sectionHtml(on.html, "findings");
  assert(f.includes("the paper&#39;s: without / with"), "findings table has the paper's column");
  assert(f.includes("0.736 / 0.779 (Table II)"), "micro-GA beside the paper's Table II test accuracies");
  assert(sectionHtml(on.html, "search").includes("0.7368 / 0.7361"), "Section IV shows the paper's val / test accuracy");
  // the same sizes, but HLS run otherwise than the paper (held-out half, t by accuracy, the 5 best only): not its protocol
  const honest = protocolFixture();
  for (const s of honest.searches) s.summary.hls = { lambdaScale: "log10", selection: "held-out", criterion: "accuracy", top: 5 };
  const h = await buildReport(honest);
  assert(!h.html.includes("0.7361"), "the paper's numbers do not stand beside another HLS");
  assertMatch(
    sectionHtml(h.html, "findings"),
    /HLS with log10 λ, t chosen on a held-out half, by accuracy, only models that as trained rank among the 5 best \(paper: raw λ, t chosen in sample by loss, every model\)/,
  );
  // k = 1 (the micro-GA's default) reads as one best, not "among the 1 best"
  const one = protocolDifferences({
    ...PAPER_PROTOCOL,
    hls: { lambdaScale: "log10", selection: "held-out", criterion: "accuracy", top: 1 },
  });
  assert(one.some((l) => l.includes("only models that as trained rank best (paper:")), one.join(" | "));
  // the paper's HLS on the paper's sizes is its protocol again
  for (const s of honest.searches) s.summary.hls = { lambdaScale: "linear", selection: "in-sample", criterion: "loss" };
  assert((await buildReport(honest)).html.includes("0.7361"));
});

Deno.test("not run: one row per missing input, its stages compact, the fix once, Table III listed", async () => {
  const r = await buildReport(fixture());
  const nr = sectionHtml(r.html, "not-run");
  assertEquals((nr.match(/<tr>/g) ?? []).length, 2, "header + one row for fetch:cifar10");
  assert(nr.includes("search-seed:cifar10:short:{grid,random,microga}:{1,2} (6)"), nr);
  assert(nr.includes("search:cifar10:short:{grid,random,microga} (3)"), nr);
  assert(nr.includes("Table III"), "the paper's Table III is listed as blocked");
  assertEquals(
    r.html.split("place it at data/cifar-10-binary.tar.gz").length - 1,
    2,
    "the fix appears once in the findings and once in the table",
  );
  assertEquals(r.tables["not-run"].split("\r\n").length, 3, "CSV: header, one row, trailing newline");
  // the user's path, never one inside the run's temporary code snapshot (where a parallel run resolved it)
  for (const [name, text] of [["html", r.html], ["md", r.markdown], ...Object.entries(r.tables)]) {
    assert(!/code-20\d\d-|\/tmp\/store/.test(text), `${name} shows a path inside the code snapshot`);
  }
});

Deno.test("not-run causes are followed to the root; stage names compact into products, or split where they are not", () => {
  assertEquals(rootCause("search:x", blockedBy("gone", "search-seed:x:1", "fetch:x")), { cause: "fetch:x", reason: "gone" });
  const groups = groupNotRun([
    { name: "a:1", notRun: blockedBy("r1", "fetch:a") },
    { name: "fetch:a", notRun: "r1" },
    { name: "b:1", notRun: "its own reason" },
    { name: "ok" },
  ]);
  assertEquals(groups.map((g) => [g.cause, g.stages]), [["fetch:a", ["a:1", "fetch:a"]], ["b:1", ["b:1"]]]);
  assertEquals(compactStageNames(["s:c:1", "s:c:2", "s:c:3", "s:c:5"]), ["s:c:{1–3,5} (4)"]);
  assertEquals(compactStageNames(["s:a:x:1", "s:a:x:2", "s:b:y:1", "t:q"]), ["s:a:x:{1,2}", "s:b:y:1", "t:q"]);
  assertEquals(compactStageNames(cifarNotRun(["short", "long"], [1, 2, 3]).map((s) => s.name)), [
    "fetch:cifar10",
    "search-seed:cifar10:{short,long}:{grid,random,microga}:{1–3} (18)",
    "search:cifar10:{short,long}:{grid,random,microga} (6)",
  ]);
});

/** Every Markdown table row has as many unescaped pipes as its header. */
function assertMdTablesIntact(md: string): void {
  const pipes = (l: string) => (l.replace(/\\\\/g, "").match(/(?<!\\)\|/g) ?? []).length;
  let expect = 0;
  for (const l of md.split("\n")) {
    if (!l.startsWith("|")) {
      expect = 0;
      continue;
    }
    if (!expect) expect = pipes(l);
    assertEquals(pipes(l), expect, `broken Markdown table row: ${l}`);
  }
}

Deno.test("Markdown: figures linked as the SVG files beside it, names with _ * | escaped, tables intact", async () => {
  const inp = fixture();
  inp.title = "Run of my_data *set*";
  inp.searches[0].summary.dataset = "my_data|set";
  inp.searches[0].summary.method = "grid_v2";
  inp.ablations![0].summary[0].name = "log_heldout*x";
  inp.ablations![0].summary[0].description = "t chosen | held out";
  const r = await buildReport(inp);
  for (const name of Object.keys(r.figures)) {
    assert(r.markdown.includes(`](figure-${name}.svg)`), `Markdown does not link figure-${name}.svg`);
  }
  assert(r.markdown.startsWith("# Run of my\\_data \\*set\\*"), r.markdown.slice(0, 80));
  assert(r.markdown.includes("my\\_data\\|set"), "dataset name escaped");
  assert(r.markdown.includes("grid\\_v2"), "method name escaped");
  assert(r.markdown.includes("log\\_heldout\\*x"), "variant name escaped");
  assert(!/(?<!\\)_data/.test(r.markdown), "no unescaped underscore from a name");
  assertMdTablesIntact(r.markdown);
  for (const id of Object.keys(r.tables).filter((id) => id !== "trials" && id !== "artifacts")) {
    assert(r.markdown.includes(`](table-${id}.csv)`), `Markdown does not link table-${id}.csv`);
  }
  assertEquals(mdText("a_b*c|d`e[f]<g>\\"), "a\\_b\\*c\\|d\\`e\\[f\\]\\<g\\>\\\\");
  assertEquals(tableMd({ caption: "c_1", head: ["a|b"], rows: [["x_y"]] }).split("\n").slice(0, 5), [
    "**c\\_1**",
    "",
    "| a\\|b |",
    "| --- |",
    "| x\\_y |",
  ]);
});

Deno.test("every table is also a CSV, and every trial is in table-trials.csv", async () => {
  const inp = fixture();
  const r = await buildReport(inp);
  for (
    const id of [
      "findings",
      "not-run",
      "finetune",
      "search-mnist-short",
      "search-mnist-short-per-seed",
      "environment",
      "artifacts",
      "trials",
    ]
  ) {
    assert(id in r.tables, `no table-${id}.csv (have ${Object.keys(r.tables).join(", ")})`);
  }
  const trials = inp.searches.flatMap((s) => s.studies!.results.flatMap((x) => x.trials));
  const lines = r.tables.trials.trimEnd().split("\r\n");
  assertEquals(lines.length, 1 + trials.length);
  assert(lines[0].startsWith("dataset,budget,method,seed,hls,trial,"), lines[0]);
  assert(r.tables.artifacts.includes("ab".repeat(32)), "the CSV holds full digests");
  assertEquals(tableCsv({ caption: "", head: ["a", "b"], rows: [['x,"y"', "z"]] }), 'a,b\r\n"x,""y""",z\r\n');
});

Deno.test("Figures 2-4 draw the whole line search and mark the chosen t", async () => {
  const ft = finetuneInput(12, 0.5);
  const r = await buildReport({ ...fixture(), finetune: ft });
  assert(r.html.includes("chosen t = 0.500"), "panel titles name the chosen t");
  const rows = ft.cases.flatMap((c) =>
    c.line.flatMap((
      p,
    ) => [{ grouping: c.grouping, t: p.t, loss: p.train.loss, kind: "training loss" }, {
      grouping: c.grouping,
      t: p.t,
      loss: p.val.loss,
      kind: "validation loss",
    }])
  );
  const spec = lossAlongDirectionSpec(rows, [{ grouping: "1HP", t: 0.5, loss: 1.07 }], 2.2) as {
    data: { values: { layer: string; t: number }[] };
  };
  const drawn = spec.data.values.filter((v) => v.layer === "line");
  assertEquals(drawn.length, rows.filter((x) => x.t > 0).length, "every t > 0 is drawn, including where the loss explodes");
  assertEquals(Math.max(...drawn.map((v) => v.t)), 100);
  assertEquals(spec.data.values.filter((v) => v.layer === "chosen").map((v) => v.t), [0.5]);
});

Deno.test("figures are compact, self-contained SVG with ids unique across the page; no machine paths", async () => {
  const r = await buildReport(fixture(), { "/home/someone/project": "." });
  for (const svg of Object.values(r.figures)) {
    assertMatch(svg, /^<svg[^>]* viewBox="[^"]+"[\s\S]*<\/svg>$/);
    assert(
      !svg.includes("aria-roledescription") && !/\d\.\d{3,}/.test(svg.replace(/<text[\s\S]*?<\/text>/g, "")),
      "geometry rounded, interactive attributes dropped",
    );
  }
  const ids = [...r.html.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]);
  assertEquals(ids.length, new Set(ids).size, "duplicate ids in the page");
  assert(!/(src|href)="https?:/.test(r.html), "the HTML makes no network requests");
  assert(!r.html.includes("/home/someone") && !r.markdown.includes("/home/someone"), "absolute paths replaced");
  assertEquals(relativePaths("at /p/x/data/f and /p/x", { "/p/x": ".", "/home/u": "~" }), "at data/f and .");
});

Deno.test("run facts: a marked placeholder in the cached report, filled in on export", async () => {
  const r = await buildReport(fixture());
  assert(r.html.includes("<!--run-facts-line:begin-->") && r.markdown.includes("<!--run-facts-table:begin-->"));
  const facts = {
    runId: "2026-12-01T14-18-24-339Z-1",
    startedAt: "2026-12-01T14:18:24Z",
    finishedAt: "2026-12-01T14:20:00Z",
    command: "deno task reproduce --config configs/smoke.json",
    configPath: "configs/smoke.json",
    gitCommit: "900e4d9abc",
    gitDirty: true,
  };
  const html = fillRunFacts(r.html, facts, "html");
  const md = fillRunFacts(r.markdown, facts, "md");
  for (
    const s of [
      "run 2026-12-01T14-18-24-339Z-1",
      "commit 900e4d9abc (dirty)",
      "deno task reproduce --config configs/smoke.json",
      "working tree dirty",
    ]
  ) {
    assert(html.includes(s), `filled HTML lacks '${s}'`);
  }
  assert(md.includes("configs/smoke.json") && md.includes("900e4d9abc"), "filled Markdown");
  assert(!html.includes("are added when"), "placeholder text replaced");
  assertEquals(
    fillRunFacts(html, { ...facts, runId: "other" }, "html").includes("run other"),
    true,
    "filling again replaces the previous facts",
  );
});

Deno.test("at the default config's scale the page stays under 300 KB, also when CIFAR-10 runs", async () => {
  const r = await buildReport(defaultScaleInput());
  const kb = new TextEncoder().encode(r.html).length / 1024;
  console.log(
    `default-scale report: ${kb.toFixed(0)} KB HTML; figures ${
      Object.entries(r.figures).map(([k, v]) => `${k} ${(v.length / 1024).toFixed(0)}`).join(", ")
    } KB`,
  );
  assert(kb < 300, `${kb.toFixed(0)} KB`);
  const nr = sectionHtml(r.html, "not-run");
  assert(nr.includes("search-seed:cifar10:{short,long}:{grid,random,microga}:{1–3} (18)"), "compact not-run row");
  const all = await buildReport(defaultScaleInput({ cifar10: true }));
  const allKb = new TextEncoder().encode(all.html).length / 1024;
  console.log(`with CIFAR-10 run too: ${allKb.toFixed(0)} KB`);
  assert(allKb < 300, `with CIFAR-10: ${allKb.toFixed(0)} KB`);
});
/** Decodes an 8-bit RGB(A) PNG (what Chromium writes) and returns the number of distinct colours seen. */
function pngColourCount(png: Uint8Array): number {
  const view = new DataView(png.buffer, png.byteOffset);
  let off = 8;
  let width = 0, height = 0, channels = 4;
  const idat: Uint8Array[] = [];
  while (off < png.length) {
    const len = view.getUint32(off);
    const type = new TextDecoder().decode(png.subarray(off + 4, off + 8));
    const data = png.subarray(off + 8, off + 8 + len);
    if (type === "IHDR") {
      width = view.getUint32(off + 8);
      height = view.getUint32(off + 12);
      channels = data[9] === 6 ? 4 : 3;
    } else if (type === "IDAT") idat.push(data);
    off += 12 + len;
  }
  const raw = new Uint8Array(inflateSync(Buffer.concat(idat)));
  const stride = width * channels;
  const prev = new Uint8Array(stride), cur = new Uint8Array(stride);
  const colours = new Set<number>();
  for (let y = 0; y < height; y++) {
    const f = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? cur[x - channels] : 0, b = prev[x], c = x >= channels ? prev[x - channels] : 0;
      const p = a + b - c, pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
      const pred = f === 0 ? 0 : f === 1 ? a : f === 2 ? b : f === 3 ? (a + b) >> 1 : pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      cur[x] = (line[x] + pred) & 255;
    }
    for (let x = 0; x < stride; x += channels * 7) colours.add((cur[x] << 16) | (cur[x + 1] << 8) | cur[x + 2]);
    prev.set(cur);
  }
  return colours.size;
}

const chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => {
  try {
    Deno.statSync(p);
    return true;
  } catch {
    return false;
  }
});

/** Screenshots for a person to look at: $REPORT_SCREENSHOTS, or a fixed folder in the temp directory. */
const SHOTS = Deno.env.get("REPORT_SCREENSHOTS") ?? `${Deno.env.get("TMPDIR") ?? "/tmp"}/hpo-report-screenshots`;

/** Counts console errors inside the report page (injected into its head). */
const ERRORS =
  `<script>window.__errors=0;const oe=console.error;console.error=(...a)=>{window.__errors++;oe(...a)};window.addEventListener('error',()=>window.__errors++);</script>`;

/**
 * A page that shows the report in an iframe `width` px wide (headless Chromium's window is at least 500 px
 * wide) and, once it has loaded, measures it: console errors, visible plots, and whatever is wider than the
 * frame (the page, any figure, any element outside a table's own scroll container, a table container that
 * overflows without scrolling). The result lands in the data-probe attribute of the wrapper's body.
 */
function probePage(html: string, width: number, height: number): string {
  const doc = JSON.stringify(html.replace("<head>", `<head>${ERRORS}`)).replace(/<\//g, "<\\/");
  return `<!doctype html><html><head><meta charset="utf-8"></head><body style="margin:0">
<iframe id="f" style="width:${width}px;height:${height}px;border:0;display:block"></iframe>
<script>document.getElementById('f').srcdoc=${doc};
window.addEventListener('load',()=>{const w=document.getElementById('f').contentWindow,d=w.document,W=d.documentElement.clientWidth,bad=[];
const name=e=>e.tagName+(e.id?'#'+e.id:'')+(typeof e.className==='string'&&e.className?'.'+e.className:'');
if(d.documentElement.scrollWidth>W)bad.push('page '+d.documentElement.scrollWidth+'>'+W);
for(const f of d.querySelectorAll('figure'))if(f.scrollWidth>f.clientWidth)bad.push(name(f)+' '+f.scrollWidth+'>'+f.clientWidth);
for(const t of d.querySelectorAll('.tw')){const cs=w.getComputedStyle(t).overflowX;if(t.getBoundingClientRect().right>W+0.5||(t.scrollWidth>t.clientWidth&&cs!=='auto'&&cs!=='scroll'))bad.push('table container '+t.scrollWidth+'>'+t.clientWidth)}
for(const e of d.body.querySelectorAll('*')){if(e.closest('.tw,pre,details:not([open])'))continue;const r=e.getBoundingClientRect();if(r.width&&r.right>W+0.5)bad.push(name(e)+' right '+Math.round(r.right)+'>'+W)}
const plots=[...d.querySelectorAll('figure svg')].filter(e=>{const b=e.getBoundingClientRect();return b.width>50&&b.height>50}).length;
const scrolling=[...d.querySelectorAll('.tw')].filter(t=>t.scrollWidth>t.clientWidth).length;
const cells=[...d.querySelectorAll('.tw td')].filter(c=>{const r=c.getBoundingClientRect();return r.left<-0.5||r.right>W+0.5}).map(c=>(c.getAttribute('data-label')||'?')+': '+c.textContent.slice(0,40)).slice(0,10);
const fonts=[];
for(const t of d.querySelectorAll('figure svg text')){if(!t.textContent.trim())continue;const m=t.getScreenCTM();const px=parseFloat(w.getComputedStyle(t).fontSize)*Math.hypot(m.a,m.b);fonts.push([px,'svg '+(t.closest('figure')||{}).id+': '+t.textContent.slice(0,30)])}
for(const e of d.body.querySelectorAll('*')){if(e.closest('svg,details:not([open])'))continue;if(![...e.childNodes].some(n=>n.nodeType===3&&n.textContent.trim()))continue;if(!e.getClientRects().length)continue;fonts.push([parseFloat(w.getComputedStyle(e).fontSize),e.tagName+': '+e.textContent.trim().slice(0,30)])}
fonts.sort((a,b)=>a[0]-b[0]);const small=fonts.filter(f=>f[0]<9).slice(0,10).map(f=>f[0].toFixed(1)+' px '+f[1]);
const minFont=fonts.length?+fonts[0][0].toFixed(2):0;
document.body.setAttribute('data-probe',JSON.stringify({errors:w.__errors,plots,width:W,bad:bad.slice(0,20),scrolling,cells,minFont,small,texts:fonts.length}))});</script></body></html>`;
}

Deno.test({
  name:
    "the HTML fits a 390 px phone and a 1280 px desktop in headless Chromium: no text under 9 px, every table cell on screen at 390 px, no console errors; screenshots saved",
  // Chromium comes from Debian's archive (.ci/run installs it). Outside CI, a machine without it skips this
  // test; under CI it must run (a missing browser then fails the test instead of hiding it).
  ignore: !chromium && !Deno.env.get("CI"),
  async fn() {
    const dir = Deno.makeTempDirSync();
    Deno.mkdirSync(SHOTS, { recursive: true });
    try {
      const flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        `--user-data-dir=${dir}/profile`,
      ];
      const chrome = (args: string[]) =>
        new Deno.Command(chromium!, { args: [...flags, ...args], stdout: "piped", stderr: "piped" }).output();
      const cases: [string, ReportInput][] = [["small", fixture()], ["default-scale", defaultScaleInput()]];
      for (const [label, inp] of cases) {
        const r = await buildReport(inp);
        for (const width of [390, 1280]) {
          Deno.writeTextFileSync(`${dir}/${label}-${width}.html`, probePage(r.html, width, 900));
          const dom = await chrome([
            `--window-size=${Math.max(width, 500) + 20},900`,
            "--dump-dom",
            `file://${dir}/${label}-${width}.html`,
          ]);
          const m = /data-probe="([^"]+)"/.exec(new TextDecoder().decode(dom.stdout));
          assert(m, `probe result missing from the DOM (${label}, ${width} px)`);
          const p = JSON.parse(m[1].replace(/&quot;/g, '"'));
          assertEquals(p.width, width, "the report's viewport is the frame's width");
          assertEquals(p.errors, 0);
          assertEquals(p.plots, Object.keys(r.figures).length, "every figure visible");
          assertEquals(p.bad, [], `wider than ${width} px (${label})`);
          // rendered text sizes, not just overflow: every SVG text at its font size × the figure's scale, every HTML text
          assert(p.texts > 100, `only ${p.texts} texts measured`);
          assertEquals(p.small, [], `text under 9 px at ${width} px (${label}); smallest ${p.minFont} px`);
          if (width < 700) {
            // stacked rows: every cell (variant, Δ with its interval, verdict, …) on screen, no table scrolls sideways
            assertEquals(p.cells, [], `table cells off-screen at ${width} px (${label})`);
            assertEquals(p.scrolling, 0, `tables that scroll sideways at ${width} px (${label})`);
          }
          const shot = `${SHOTS}/report-${label}-${width}.png`;
          Deno.writeTextFileSync(`${dir}/${label}-${width}-shot.html`, probePage(r.html, width, 3000));
          const s = await chrome([
            `--window-size=${Math.max(width, 500)},3000`,
            `--screenshot=${shot}`,
            `file://${dir}/${label}-${width}-shot.html`,
          ]);
          assert(s.success, new TextDecoder().decode(s.stderr));
          const colours = pngColourCount(Deno.readFileSync(shot));
          assert(colours > 20, `screenshot looks blank (${colours} colours)`);
          console.log(`${shot}: ${p.scrolling} tables scroll inside their own container; smallest text ${p.minFont} px of ${p.texts}`);
        }
      }
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});

Deno.test("run facts from a manifest: paths relative to the project, the command quoted, this checkout's git commit", async () => {
  const root = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
  const f = await runFactsFromManifest(
    { runId: "r1", startedAt: "s", finishedAt: "e", configPath: `${root}/configs/smoke.json` },
    { argv: ["deno", "task", "reproduce", "--set", "search.seeds=[1, 2]"], projectRoot: root, storeRoot: `${root}/artifacts` },
  );
  assertEquals([f.configPath, f.store, f.command], ["configs/smoke.json", "artifacts", "deno task reproduce --set 'search.seeds=[1, 2]'"]);
  if (f.gitCommit !== undefined) assertMatch(f.gitCommit, /^[0-9a-f]{40}$/);
  assertEquals(relativeTo("/a/b", "/a/bc/x"), "/a/bc/x");
  // the machine is this run's (filled at export), not the cached report's: the report stage carries none
  assertEquals(f.machine?.["cpu cores"], String(navigator.hardwareConcurrency));
  assertEquals(f.machine?.deno, Deno.version.deno);
  const { reportEnvironment } = await import("../../stages/environment.ts");
  const env = reportEnvironment("wasm", {});
  for (const k of ["cpu", "cpu cores", "deno", "os"]) assert(!(k in env), `the report stage's input names the machine: ${k}`);
  const table = fillRunFacts("<!--run-facts-table:begin--><!--run-facts-table:end-->", f, "html");
  assert(table.includes("<th>machine: cpu cores</th>"), "the run facts show the machine");
});

Deno.test("findings read correctly for a config with only the other seeds' experiments", async () => {
  const r = await buildReport({
    title: "t",
    description: "",
    config: {},
    splits: {},
    environment: {},
    stages: [{ name: "ga-lr-mom-wd:run1", digests: { "result.json": "ef".repeat(32) } }],
    searches: [],
    // whole records as the stages write them (typed by the science: search/ga_lr_mom_wd_study.ts, cpmlho/cpmlho_study.ts)
    gaLrMomWd: [{
      stage: "ga-lr-mom-wd:run1",
      result: {
        run: "run1",
        mode: "ga",
        backend: "wasm",
        reduced: false,
        bestValLoss: 0.1234,
        meanFinalTrainLoss: 0.3,
        diverged: 0,
        best: { genome: { lr: 0.01, momentum: 0.5, weightDecay: 0 }, val: { loss: 0.1234, acc: 0.96 } },
        seconds: 60,
        modelsTrained: 1,
        generations: [],
      },
    }],
    cpmlho: [{
      stage: "cpmlho:mnist",
      result: {
        dataset: "mnist",
        backend: "wasm",
        reduced: false,
        model: "MLP 784-50-50-10",
        budget: { cpmlhoEpochs: 2, baselineTrials: 2, epochsPerTrial: 1 },
        methods: [{ method: "cpmlho", valLoss: 0.181, valAcc: 0.95, testAcc: 0.948, tuned: "dropout" }],
        cpmlho: {
          trajectory: [],
          finalDropout: [0.1, 0.2, 0.3],
          val: { loss: 0.181, acc: 0.95 },
          test: { loss: 0.19, acc: 0.948 },
          epochs: 2,
          seconds: 5,
        },
      },
    }],
  });
  const f = sectionHtml(r.html, "findings");
  assert(f.includes("best validation loss per run: run1 0.1234"), f);
  assert(f.includes("CPMLHO (seed 003) on mnist: final validation loss cpmlho 0.181"), f);
  assert(!f.includes("No experiment"), f);
  assert(!r.html.includes('id="not-run"') && !r.html.includes('id="search"'), "no empty sections");
});

Deno.test("the ablation figure labels every default variant by its whole name (none cut to an ellipsis)", async () => {
  const { DEFAULT_VARIANTS } = await import("../../search/hls_variants.ts");
  const { pairedDifferenceSpec } = await import("../../report/ablation_section.ts");
  const { renderSvg } = await import("../../report/charts.ts");
  const names = DEFAULT_VARIANTS.map((v) => v.name);
  const svg = await renderSvg(
    pairedDifferenceSpec([ablationInput({ dataset: "mnist", budget: "short", seeds: 3, models: 4, variants: names })]),
  );
  for (const n of names) assert(svg.includes(`>${n}</text>`), `label '${n}' is not shown whole`);
  assert(!svg.includes("…"), "a label was cut");
});
