import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

// `npm start` runs this script as npm → sh → tsx → node. npm hands a SIGTERM or SIGINT sent to
// its own pid only to `sh`, which dies without passing it on, and a SIGHUP kills npm alone: either
// way this script hears nothing, and everything it started would run on with nobody to stop it.
// So it watches the processes above it, up to npm, and stops everything when one of them is gone.

interface Ancestor {
  pid: number;
  command: string;
  /** Start time from /proc, so a later process reusing the pid is not taken for it; null elsewhere. */
  startTime: string | null;
}

interface ProcessInfo {
  ppid: number;
  command: string;
  startTime: string | null;
  zombie: boolean;
}

function procInfo(pid: number): ProcessInfo | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const [state, ppid, startTime] = [fields[0], fields[1], fields[19]];
    if (state === undefined || ppid === undefined || startTime === undefined) return null;
    const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
    return { ppid: Number(ppid), command, startTime, zombie: state === 'Z' };
  } catch {
    // Gone.
    return null;
  }
}

function psInfo(pid: number): ProcessInfo | null {
  try {
    const line = execFileSync('ps', ['-o', 'ppid=,state=,command=', '-p', String(pid)], {
      encoding: 'utf8',
      timeout: 2_000,
    }).trim();
    const match = /^(\d+)\s+(\S+)\s+(.*)$/.exec(line);
    if (!match?.[1] || !match[2] || match[3] === undefined) return null;
    return { ppid: Number(match[1]), command: match[3], startTime: null, zombie: match[2].startsWith('Z') };
  } catch {
    // Gone, or no `ps` here.
    return null;
  }
}

const infoOf = (pid: number): ProcessInfo | null => (process.platform === 'linux' ? procInfo(pid) : psInfo(pid));

const isNpm = (command: string): boolean => /(^|[\s/])(npm|npx)(-cli\.js)?(\s|$)/.test(command);

/**
 * The processes above this one that must stay alive for it to keep running: up to and including
 * npm (or npx) when it was started through one, else only the direct parent when that is tsx.
 */
export function ancestorsToWatch(): Ancestor[] {
  if (process.platform === 'win32') return [];
  const chain: Ancestor[] = [];
  for (let pid = process.ppid, depth = 0; pid > 1 && depth < 8; depth++) {
    const info = infoOf(pid);
    if (info === null) break;
    chain.push({ pid, command: info.command, startTime: info.startTime });
    if (isNpm(info.command)) return chain;
    pid = info.ppid;
  }
  const parent = chain[0];
  return parent !== undefined && /tsx/.test(parent.command) ? [parent] : [];
}

/** The first watched ancestor that has ended, or null while all of them run. */
export function goneAncestor(ancestors: readonly Ancestor[]): Ancestor | null {
  for (const ancestor of ancestors) {
    const info = infoOf(ancestor.pid);
    const same =
      info !== null && !info.zombie && (ancestor.startTime === null || info.startTime === ancestor.startTime);
    if (!same) return ancestor;
  }
  return null;
}
