import { asUserFsError, describeFsFault, UserError } from "../errors.ts";
import { claimStore, recogniseStore } from "./store_root.ts";

/** What the LOCK file says: who holds it, since when. */
export interface LockHolder {
  pid: number;
  command: string;
  since: string;
  /** The host of the holder: on a shared file system, only that host can tell whether the pid lives. */
  host?: string;
}

function hostname(): string {
  try {
    return Deno.hostname();
  } catch {
    return "unknown";
  }
}

/** A held store lock; release() is idempotent. */
export interface StoreLock {
  /** The content of the LOCK file: a child of the run checks it is still there before committing. */
  readonly holder: LockHolder;
  /** True when the lock was taken over from a process that died holding it (its writes may be half done). */
  readonly tookOver: boolean;
  /** True when the store could not be written and no lock was taken (acquireStoreLock's readOnlyOk). */
  readonly readOnly?: boolean;
  release(): void;
}

/**
 * True when the store's LOCK file still names `holder`: the run that started a child still holds the
 * store (a child never takes the lock; its parent holds it for it).
 */
export function lockStillHeld(root: string, holder: LockHolder): boolean {
  try {
    const h = JSON.parse(Deno.readTextFileSync(`${root}/LOCK`));
    return h.pid === holder.pid && h.since === holder.since;
  } catch {
    return false;
  }
}

function processAlive(pid: number): boolean {
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}

/** Options of acquireStoreLock. */
export interface LockOptions {
  /** Where the store path came from, for messages (--store, $X_STORE). */
  via?: string;
  /**
   * For a command that only reads (archive): a store this process cannot write (a read-only file system,
   * no write permission) is read without the lock; nobody can change it through this process either.
   */
  readOnlyOk?: boolean;
}

/**
 * Takes the store's exclusive lock (a file created with O_EXCL holding our pid). A second process gets a
 * clear error naming the holder. A lock left by a process that no longer exists (kill -9) is taken over.
 * First the directory must be a store, or empty, or absent (see claimStore): a directory that is not a
 * store is refused before a byte is written there.
 */
export async function acquireStoreLock(root: string, command: string, o: LockOptions = {}): Promise<StoreLock> {
  const path = `${root}/LOCK`;
  try {
    await claimStore(root, { via: o.via });
  } catch (e) {
    // a store that cannot be written (read-only, no permission) may still be read, when recognised as one
    if (o.readOnlyOk && describeFsFault(e)) return readOnlyLock(root, command, o.via);
    throw e instanceof UserError ? e : asUserFsError(e, `cannot create the artifact store ${root}`);
  }
  let tookOver = false;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return createLock(path, command, tookOver);
    } catch (e) {
      if (o.readOnlyOk && !(e instanceof Deno.errors.AlreadyExists) && describeFsFault(e)) return readOnlyLock(root, command, o.via);
      if (!(e instanceof Deno.errors.AlreadyExists)) throw asUserFsError(e, `cannot take the lock ${path}`);
      refuseIfNotFile(root, path);
      const holder = readHolder(path);
      refuseIfHeld(root, path, holder);
      // Stale (holder dead) or unreadable after a moment: take it over.
      if (holder.pid === undefined && attempt === 0) {
        await new Promise((r) => setTimeout(r, 200)); // a writer may be mid-write; give it a moment
        continue;
      }
      try {
        Deno.removeSync(path);
        tookOver = true;
      } catch { /* someone else removed it */ }
    }
  }
  throw new UserError(`could not take the lock ${path}; another process keeps taking it`);
}

/** The "lock" of a store this process cannot write: recognised (never a foreign directory), nothing to release. */
function readOnlyLock(root: string, command: string, via?: string): StoreLock {
  recogniseStore(root, via); // the one-line refusal for a directory that is not a store; writes nothing
  return {
    holder: { pid: Deno.pid, command, since: new Date().toISOString(), host: hostname() },
    tookOver: false,
    readOnly: true,
    release() {},
  };
}

/** A LOCK that is not a file (a directory, a link) was not made by this program: say what it is and the fix. */
function refuseIfNotFile(root: string, path: string): void {
  let st: Deno.FileInfo;
  try {
    st = Deno.lstatSync(path);
  } catch {
    return; // gone meanwhile: the next attempt takes it
  }
  if (st.isFile) return;
  const what = st.isDirectory ? "a directory" : st.isSymlink ? "a symbolic link" : "not a regular file";
  throw new UserError(
    `the artifact store ${root} cannot be locked: ${path} is ${what}, not the lock file this program writes; ` +
      `nothing of this program made it: inspect it and move it away, then rerun`,
  );
}

/** Creates the LOCK file (O_EXCL: AlreadyExists when someone holds it) and writes this process into it. */
function createLock(path: string, command: string, tookOver: boolean): StoreLock {
  const f = Deno.openSync(path, { write: true, createNew: true });
  const holder: LockHolder = { pid: Deno.pid, command, since: new Date().toISOString(), host: hostname() };
  try {
    f.writeSync(new TextEncoder().encode(JSON.stringify(holder)));
  } catch (e) {
    f.close();
    Deno.removeSync(path); // a full disk must not leave a half-written lock behind
    throw asUserFsError(e, `cannot take the lock ${path}`);
  } finally {
    try {
      f.close();
    } catch { /* closed above */ }
  }
  let held = true;
  return {
    holder,
    tookOver,
    release() {
      if (!held) return;
      held = false;
      try {
        Deno.removeSync(path);
      } catch { /* already gone */ }
    },
  };
}

/** What the LOCK file says, as far as it can be read (it may be being written, or garbage). */
function readHolder(path: string): Partial<LockHolder> {
  try {
    return JSON.parse(Deno.readTextFileSync(path));
  } catch {
    return {};
  }
}

/** A UserError naming the holder when it may still be alive: on another host, or a live process here. */
function refuseIfHeld(root: string, path: string, holder: Partial<LockHolder>): void {
  if (typeof holder.pid === "number" && holder.host !== undefined && holder.host !== hostname()) {
    // A store on a shared file system, locked from another machine: this one cannot see that process.
    throw new UserError(
      `the artifact store ${root} is locked by process ${holder.pid} on host ${holder.host} ('${holder.command}', since ${holder.since}); ` +
        `wait for it to finish, or remove ${path} if that process is gone`,
    );
  }
  if (typeof holder.pid === "number" && processAlive(holder.pid) && holder.pid !== Deno.pid) {
    throw new UserError(
      `the artifact store ${root} is locked by process ${holder.pid} ('${holder.command}', since ${holder.since}); ` +
        `wait for it to finish, or remove ${path} if that process is gone`,
    );
  }
}
