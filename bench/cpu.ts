import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';

/** Linux reports process CPU time in clock ticks; 100 per second on every common kernel build. */
const TICKS_PER_SECOND = 100;

/** User + system CPU seconds a process has used so far, from /proc/<pid>/stat; null when unreadable. */
function processCpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces; the fields after its closing parenthesis do not.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return Number.isFinite(utime) && Number.isFinite(stime) ? (utime + stime) / TICKS_PER_SECOND : null;
  } catch {
    return null;
  }
}

/** Busy CPU seconds of the whole host (all cores), from /proc/stat. */
function hostBusySeconds(): number | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    const [, user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).map(Number);
    const busy = [user, nice, system, irq, softirq, steal].reduce<number>((sum, v) => sum + (v ?? 0), 0);
    return busy / TICKS_PER_SECOND;
  } catch {
    return null;
  }
}

/** The pid of the process whose command line contains every one of `parts`, if exactly one does. */
export function findProcess(parts: readonly string[]): number | null {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ');
      if (parts.every((p) => cmdline.includes(p))) found.push(Number(entry));
    } catch {
      // The process ended while the list was read.
    }
  }
  return found.length === 1 ? (found[0] ?? null) : null;
}

export interface CpuUse {
  /** CPU seconds used during the phase by each process that could be read. */
  seconds: Record<string, number | null>;
  /** CPU seconds the whole host was busy, all processes (other people's included). */
  hostSeconds: number | null;
  wallSeconds: number;
  cores: number;
}

/** CPU time of the benchmark's own processes and of the whole host between `start()` and `stop()`. */
export class CpuMeter {
  private begin: { at: number; host: number | null; procs: Record<string, number | null> } | null = null;

  constructor(private readonly processes: Record<string, () => number | null>) {}

  private sample(): Record<string, number | null> {
    return Object.fromEntries(Object.entries(this.processes).map(([name, read]) => [name, read()]));
  }

  start(): void {
    this.begin = { at: Date.now(), host: hostBusySeconds(), procs: this.sample() };
  }

  stop(): CpuUse {
    const begin = this.begin ?? { at: Date.now(), host: hostBusySeconds(), procs: this.sample() };
    const end = this.sample();
    const host = hostBusySeconds();
    const seconds: Record<string, number | null> = {};
    for (const [name, after] of Object.entries(end)) {
      const before = begin.procs[name];
      seconds[name] = after === null || before === null || before === undefined ? null : after - before;
    }
    return {
      seconds,
      hostSeconds: host === null || begin.host === null ? null : host - begin.host,
      wallSeconds: (Date.now() - begin.at) / 1000,
      cores: os.cpus().length,
    };
  }
}

export const cpuOfPid = (pid: number | null) => (): number | null => (pid === null ? null : processCpuSeconds(pid));
export const cpuOfThisProcess = (): number => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
};
