// The signal watch's thread (see interrupt.ts). A stage that computes synchronously holds the run's
// event loop, so a listener there would only run after the stage. This worker's loop is free: it flags
// the signal in shared memory (the run reads it at the stage's next progress step) and posts it (the run
// reads that when its loop is free). If the run answers neither within the grace period, this thread
// says the run's closing line, stops the children and ends the process itself.
/// <reference lib="deno.worker" />

interface Init {
  type: "init";
  flags: SharedArrayBuffer;
  graceMs: number;
}
interface State {
  type: "state";
  /** The closing line, with `{signal}` for the signal's name. */
  line: string;
  pids: number[];
}

const SIGNALS = { SIGINT: 2, SIGTERM: 15, SIGHUP: 1 } as const;
let flags: Int32Array | undefined;
let graceMs = 3000;
let state: State = { type: "state", line: "", pids: [] };

function hardStop(sig: string): void {
  for (const pid of state.pids) {
    try {
      Deno.kill(pid, "SIGTERM");
    } catch { /* already gone */ }
  }
  if (state.line) Deno.stderr.writeSync(new TextEncoder().encode(state.line.replaceAll("{signal}", sig) + "\n"));
  // A worker cannot end its process with an exit code (Deno.exit ends only the worker): SIGKILL does (137).
  Deno.kill(Deno.pid, "SIGKILL");
}

self.onmessage = (e: MessageEvent<Init | State>) => {
  const m = e.data;
  if (m.type === "init") {
    flags = new Int32Array(m.flags);
    graceMs = m.graceMs;
    for (const [sig, no] of Object.entries(SIGNALS)) {
      Deno.addSignalListener(sig as Deno.Signal, () => {
        const f = flags!;
        // a second signal while the first is being handled: stop now
        if (Atomics.compareExchange(f, 0, 0, no) !== 0) return hardStop(sig);
        self.postMessage({ type: "signal", signal: sig });
        if (Atomics.wait(f, 1, 0, graceMs) === "timed-out") hardStop(sig);
      });
    }
    self.postMessage({ type: "ready" });
  } else if (m.type === "state") state = m;
};
