// A watchdog for a `run-stage` child, in its own thread: a stage's synchronous computation holds the main
// thread for seconds at a time, so a timer there cannot notice that the parent died. This worker polls
// the parent pid (an orphan is re-parented: its ppid changes) and kills its own process, without
// committing anything, within a poll interval of the parent's death.
/// <reference lib="deno.worker" />

self.onmessage = (e: MessageEvent<{ parent: number; pollMs: number }>) => {
  const { parent, pollMs } = e.data;
  setInterval(() => {
    if (Deno.ppid === parent) return;
    try {
      Deno.kill(Deno.pid, "SIGKILL"); // the whole process: Deno.exit here would end this worker only
    } catch {
      self.postMessage("orphaned"); // no permission to signal: the main thread exits at its next turn
    }
  }, pollMs);
};
