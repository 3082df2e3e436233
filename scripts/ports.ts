import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import net from 'node:net';

/** One port `npm start` needs, with what uses it and the variable that moves it. */
export interface WantedPort {
  port: number;
  what: string;
  variable: string;
}

/** Why a port cannot be used, as one line naming the port and the variable that moves it; null when it is free. */
export async function portProblem(wanted: WantedPort): Promise<string | null> {
  const { port, what, variable } = wanted;
  const bind = await tryListen(port, '127.0.0.1');
  if (bind === 'EADDRINUSE')
    return `port ${port} (${what}) is already in use by another program; stop it, or set ${variable} to another port`;
  if (bind !== null) return `port ${port} (${what}) cannot be used (${bind}); set ${variable} to another port`;
  // `localhost` may resolve to ::1 first: a program there would answer the URLs we print.
  if (await answers('::1', port))
    return `port ${port} (${what}) is already in use by another program on ::1 (localhost); stop it, or set ${variable} to another port`;
  return null;
}

/** Two variables naming one port: the second process would fail half-way through the start. */
export function sharedPortProblem(ports: readonly WantedPort[]): string | null {
  for (const [i, a] of ports.entries()) {
    const b = ports.slice(i + 1).find((other) => other.port === a.port);
    if (b)
      return `${a.variable} and ${b.variable} both name port ${a.port} (${a.what} and ${b.what}); give them different ports`;
  }
  return null;
}

function tryListen(port: number, host: string): Promise<string | null> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(null)));
  });
}

function answers(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Every live process below `root`, from the parent links in /proc (Linux). */
export function descendantPids(root: number): number[] {
  const childrenOf = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const ppid = parentOf(Number(entry));
    if (ppid === null) continue;
    childrenOf.set(ppid, [...(childrenOf.get(ppid) ?? []), Number(entry)]);
  }
  const found: number[] = [];
  for (let queue = [root], pid = queue.shift(); pid !== undefined; pid = queue.shift()) {
    for (const child of childrenOf.get(pid) ?? []) {
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}

function parentOf(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces and parentheses; the fields after the last ')' are plain.
    const ppid = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1];
    return ppid === undefined ? null : Number(ppid);
  } catch {
    // Gone between the listing and the read.
    return null;
  }
}

/** Inodes of the sockets listening on `port` (any address), from /proc/net/tcp and tcp6. */
function listeningInodes(port: number): Set<string> {
  const inodes = new Set<string>();
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      // No IPv6 on this machine.
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      const [local, state, inode] = [fields[1], fields[3], fields[9]];
      // State 0A is LISTEN.
      if (local?.endsWith(`:${hexPort}`) && state === '0A' && inode !== undefined && inode !== '0') inodes.add(inode);
    }
  }
  return inodes;
}

function holdsSocket(pid: number, inodes: Set<string>): boolean {
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    // Gone, or not ours to look at.
    return false;
  }
  return fds.some((fd) => {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      return match?.[1] !== undefined && inodes.has(match[1]);
    } catch {
      // Closed meanwhile.
      return false;
    }
  });
}

/**
 * Whether a process in `pids` listens on `port`: true or false where /proc tells (Linux), null
 * where it cannot be known. Tells this start's own server from another program on the same port.
 */
export function portHeldBy(port: number, pids: readonly number[]): boolean | null {
  if (process.platform !== 'linux') return null;
  const inodes = listeningInodes(port);
  if (inodes.size === 0) return false;
  return pids.some((pid) => holdsSocket(pid, inodes));
}
