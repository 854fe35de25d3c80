// The command-line entry point: plugs the experiment (config schema, stage DAG, environment) into the
// generic pipeline CLI.
import { cliMain } from "./pipeline/cli.ts";
import { describeZodError, loadJsonConfig } from "./pipeline/config.ts";
import { UserError } from "./pipeline/errors.ts";
import { fromFileUrl } from "./pipeline/paths.ts";
import { ExperimentConfig } from "./stages/config.ts";
import { buildStages } from "./stages/registry.ts";
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

const code = await cliMain({
  projectRoot,
  defaultConfig: "configs/default.json",
  importMap: denoJson.imports,
  loadConfig: (path, overrides) => loadJsonConfig(path, ExperimentConfig, overrides),
  parseConfig(raw) {
    const r = ExperimentConfig.safeParse(raw);
    if (!r.success) throw new UserError(describeZodError(r.error));
    return r.data;
  },
  buildStages,
  environment: (config) => environmentInfo(config.backend),
  exports: [
    { stage: "report", output: "report.html", to: "reports/{config}/report.html" },
    { stage: "report", output: "report.md", to: "reports/{config}/report.md" },
  ],
  rerunConfig: pinnedSourcesOnly,
  sandbox: { read: pinnedDirs, denoConfig: `${projectRoot}/deno.json` },
}, args);
Deno.exit(code);
