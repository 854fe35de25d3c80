// The command-line entry point: plugs the experiment (config schema, stage DAG, environment) into the
// generic pipeline CLI.
import { cliMain } from "./pipeline/cli/cli.ts";
import { describeZodError, loadJsonConfig } from "./pipeline/config.ts";
import { UserError } from "./pipeline/errors.ts";
import { fromFileUrl } from "./pipeline/paths.ts";
import { ExperimentConfig } from "./stages/config.ts";
import { buildStages } from "./stages/registry.ts";
import { fillRunFacts, runFactsFromManifest } from "./report/run_facts.ts";
import { backendProblem } from "./nn/backend_check.ts";
import { environmentInfo } from "./stages/environment.ts";
import { DEFAULT_SOURCES } from "./data/datasets.ts";
import { pinnedSourcesOnly } from "./stages/fetch.ts";

const projectRoot = fromFileUrl(new URL(".", import.meta.url)).replace(/\/$/, "");
const denoJson = JSON.parse(Deno.readTextFileSync(`${projectRoot}/deno.json`));

// --backend X is shorthand for --set backend=X.
const args = [...Deno.args];
const bi = args.indexOf("--backend");
if (bi >= 0) args.splice(bi, 2, "--set", `backend=${args[bi + 1] ?? ""}`);

// The rerun sandbox may read this checkout's own pinned data directories outside the project.
const pinnedDirs = Object.values(DEFAULT_SOURCES).flat().flatMap((s) => (s.kind === "dir" && s.path.startsWith("/") ? [s.path] : []));

/**
 * The report is a cached stage: facts of this run (id, times, command, git commit) are no input of it, so
 * they are filled in as the report is exported.
 */
function withRunFacts(format: "html" | "md") {
  return async (bytes: Uint8Array, run: { manifest: Parameters<typeof runFactsFromManifest>[0]; storeRoot: string }) => {
    const facts = await runFactsFromManifest(run.manifest, {
      argv: ["deno", "run", "-A", "main.ts", ...Deno.args],
      projectRoot,
      storeRoot: run.storeRoot,
    });
    return new TextEncoder().encode(fillRunFacts(new TextDecoder().decode(bytes), facts, format));
  };
}

const code = await cliMain({
  projectRoot,
  defaultConfig: "configs/default.json",
  envPrefix: "HPO", // $HPO_STORE, $HPO_JOBS, …; hpo-archive-<date>.tar.gz
  importMap: denoJson.imports,
  async loadConfig(path, overrides) {
    const loaded = await loadJsonConfig(path, ExperimentConfig, overrides);
    // a backend that cannot load is refused before any stage runs, with the command that installs it
    const problem = Deno.args[0] === "reproduce" ? backendProblem(loaded.config.backend) : undefined;
    if (problem) throw new UserError(problem);
    return loaded;
  },
  parseConfig(raw) {
    const r = ExperimentConfig.safeParse(raw);
    if (!r.success) throw new UserError(describeZodError(r.error, ExperimentConfig));
    return r.data;
  },
  buildStages,
  environment: (config) => environmentInfo(config.backend),
  cluster: (config) => config.slurm,
  exports: [
    { stage: "report", output: "report.html", to: "reports/{config}/report.html", transform: withRunFacts("html") },
    { stage: "report", output: "report.md", to: "reports/{config}/report.md", transform: withRunFacts("md") },
    // the Markdown report links its figures and every table's CSV beside it
    { stage: "report", output: /^(figure-.+\.svg|table-.+\.csv)$/, to: "reports/{config}/{output}" },
    // the timing appendix (wall times, volatile), linked from the report; its page gets the run's facts too
    { stage: "report", output: "timing.html", to: "reports/{config}/timing.html", transform: withRunFacts("html") },
    { stage: "report", output: "timing.md", to: "reports/{config}/timing.md", transform: withRunFacts("md") },
    { stage: "report", output: /^timing-(figure-.+\.svg|table-.+\.csv)$/, to: "reports/{config}/{output}" },
  ],
  rerunConfig: pinnedSourcesOnly,
  sandbox: { read: pinnedDirs, denoConfig: `${projectRoot}/deno.json` },
}, args);
Deno.exit(code);
