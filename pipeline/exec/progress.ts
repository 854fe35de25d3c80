import { printable } from "../printable.ts";

/** Formats a duration in seconds as e.g. "4.2s", "3m05s", "1h02m". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  // round to the precision shown before splitting into fields, so that no field reads 60 (59.95 s is 1m00s)
  if (Math.round(seconds * 10) < 600) return `${seconds.toFixed(1)}s`;
  const whole = Math.round(seconds);
  if (whole < 3600) return `${Math.floor(whole / 60)}m${String(whole % 60).padStart(2, "0")}s`;
  const minutes = Math.floor(whole / 60);
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, "0")}m`;
}

/** Writes human progress lines to stderr and structured events to a JSON-lines log file. */
export class RunLog {
  readonly #file?: Deno.FsFile;
  readonly #quiet: boolean;
  readonly #enc = new TextEncoder();

  constructor(logPath: string | undefined, quiet = false) {
    this.#quiet = quiet;
    if (logPath) this.#file = Deno.openSync(logPath, { create: true, append: true });
  }

  /** Appends one JSON event with a timestamp. */
  event(event: Record<string, unknown>): void {
    this.#file?.writeSync(this.#enc.encode(JSON.stringify({ t: new Date().toISOString(), ...event }) + "\n"));
  }

  /** Prints a line to stderr (unless quiet). */
  say(line: string): void {
    if (!this.#quiet) Deno.stderr.writeSync(this.#enc.encode(line.split("\n").map(printable).join("\n") + "\n")); // names from configs: escaped
  }

  /**
   * A progress callback for one stage: prints "[stage] k/n pct elapsed ETA label", at most ~2 lines a
   * second (always the last step), and logs the same throttled events.
   */
  progressFor(stage: string): (step: number, total: number, label?: string) => void {
    const start = performance.now();
    let lastPrint = -Infinity;
    return (step, total, label) => {
      const now = performance.now();
      if (now - lastPrint < 500 && step < total) return;
      lastPrint = now;
      const elapsed = (now - start) / 1000;
      const eta = step > 0 ? (elapsed * (total - step)) / step : NaN;
      const pct = total > 0 ? Math.floor((100 * step) / total) : 0;
      this.say(
        `[${stage}] ${step}/${total} ${pct}% elapsed ${formatDuration(elapsed)} ETA ${formatDuration(eta)}${label ? " " + label : ""}`,
      );
      this.event({ event: "progress", stage, step, total, label, elapsedS: +elapsed.toFixed(3) });
    };
  }

  close(): void {
    this.#file?.close();
  }
}
