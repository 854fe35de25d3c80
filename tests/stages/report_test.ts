// The report stage reads every upstream artifact checked (stages/report.ts checkedOutput, readInputs): each file
// it reads has the schema of the science that writes it, and a forged one stops the report naming the stage, the
// file and the field.
import { artifactsOf, assert, assertRejects } from "../assert.ts";
import { checkedOutput, readInputs, ReportParams } from "../../stages/report.ts";
import { jsonWithVolatile } from "../../stages/_load.ts";
import { searchInput } from "../report_fixtures.ts";

/** Every upstream file the report reads (stages/report.ts collect), by an example of its stage. */
const READ: [stage: string, file: string][] = [
  ["baseline-train", "history.json"],
  ["lp-finetune", "finetune.json"],
  ["search:mnist:short:grid", "summary.json"],
  ["search:mnist:short:grid", "studies.json"],
  ["ga-lr-mom-wd:run1", "result.json"],
  ["hls-ablation:mnist:short", "ablation.json"],
  ["cpmlho:mnist-mlp", "result.json"],
];

const params = ReportParams.parse({ facts: { description: "test", backend: "wasm", splits: {}, config: {} } });

Deno.test("every file the report reads is checked against a schema", () => {
  for (const [stage, file] of READ) assert(checkedOutput(stage, file) !== undefined, `${stage}'s ${file} is read unchecked`);
  assert(checkedOutput("cpmlho:x", "summary.json") === undefined, "a schema is picked by stage and file");
});

/** A valid companion of a forged file, where the report reads the stage's other file first. */
function valid(file: string): unknown {
  if (file !== "summary.json") return { forged: true };
  const { summary } = searchInput({ dataset: "mnist", split: "mnist", budget: "short", method: "grid", seeds: [1], models: 2, epochs: 1 });
  return summary;
}

for (const [stage, file] of READ) {
  Deno.test(`a forged ${file} of ${stage.split(":")[0]} stops the report, naming the stage, the file and the field`, async () => {
    const others = READ.filter(([s, f]) => s === stage && f !== file).map(([, f]) => jsonWithVolatile(f, valid(f)));
    const inputs = { [stage]: artifactsOf(stage, Object.assign(jsonWithVolatile(file, { forged: true }), ...others)) };
    const e = await assertRejects(() => readInputs(params, [stage], inputs));
    assert(e.message.startsWith(`${stage}'s ${file} is not what this code writes: at `), e.message);
  });
}
