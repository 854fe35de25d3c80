// Helpers shared by the benchmarks: timing, peak memory of a child process, the PyTorch peer, a recorded run to measure.

/** Median of numbers. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** Runs a command, sampling its peak resident memory (VmHWM) from /proc; returns wall seconds and peak MB. */
export async function runMeasured(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: Record<string, string> } = {},
): Promise<{ code: number; seconds: number; peakMb: number; stdout: string; stderr: string }> {
  const t0 = performance.now();
  const child = new Deno.Command(cmd, { args, cwd: opts.cwd, env: opts.env, stdout: "piped", stderr: "piped" }).spawn();
  let peak = 0;
  const timer = setInterval(() => {
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(Deno.readTextFileSync(`/proc/${child.pid}/status`));
      if (m) peak = Math.max(peak, Number(m[1]) / 1024);
    } catch { /* exited */ }
  }, 20);
  const out = await child.output();
  clearInterval(timer);
  return {
    code: out.code,
    seconds: (performance.now() - t0) / 1000,
    peakMb: peak,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

/** The Python that has Debian's python3-torch, if any (the project never needs it; benchmarks compare with it). */
export function torchPython(): string | undefined {
  for (const py of ["/usr/bin/python3", "python3"]) {
    try {
      const r = new Deno.Command(py, { args: ["-c", "import torch; print(torch.__version__)"], stdout: "piped", stderr: "null" })
        .outputSync();
      if (r.success) return py;
    } catch { /* not there */ }
  }
  return undefined;
}

/** Prints a table of rows (objects with the same keys). */
export function printTable(title: string, rows: Record<string, string | number>[]): void {
  console.log(`\n## ${title}\n`);
  if (!rows.length) return;
  const keys = Object.keys(rows[0]);
  console.log(`| ${keys.join(" | ")} |`);
  console.log(`| ${keys.map(() => "---").join(" | ")} |`);
  for (const r of rows) console.log(`| ${keys.map((k) => (typeof r[k] === "number" ? formatNum(r[k] as number) : r[k])).join(" | ")} |`);
}

function formatNum(x: number): string {
  return Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 1 ? x.toFixed(2) : x.toPrecision(3);
}

/** Runs the project's `reproduce` on a config into a store (quietly, no export), for benchmarks that need a recorded run. */
export async function reproduceInto(o: { config: string; store: string; jobs: string | number }): Promise<void> {
  const root = new URL("..", import.meta.url).pathname;
  const args = [
    "run",
    "-A",
    `${root}main.ts`,
    "reproduce",
    "--config",
    o.config,
    "--store",
    o.store,
    "-j",
    String(o.jobs),
    "--no-export",
    "--quiet",
  ];
  const out = await new Deno.Command(Deno.execPath(), { args, cwd: root, stdout: "null", stderr: "piped" }).output();
  if (!out.success) throw new Error(`the run failed:\n${new TextDecoder().decode(out.stderr).slice(-2000)}`);
}
