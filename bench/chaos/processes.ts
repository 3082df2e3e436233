import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startDevServer, type DevServer } from '../../scripts/dev-server';
import { findProcess } from '../cpu';

const projectRoot = path.resolve(__dirname, '..', '..');

export type ServiceName = 'api' | 'worker';

const ENTRY: Record<ServiceName, string> = { api: path.join('api', 'main.ts'), worker: path.join('worker', 'main.ts') };

/**
 * One life of the api or the worker, started as `npm run api` / `npm run worker` start it, but as
 * `node --import tsx` so that a SIGKILL hits the service itself rather than a launcher in between.
 * Its output goes to a log file: the terminal is for the run's progress.
 */
class ServiceLife {
  private exited: string | null = null;
  private readonly exit: Promise<void>;

  constructor(
    readonly name: ServiceName,
    readonly generation: number,
    private readonly child: ChildProcess,
    log: WriteStream,
  ) {
    const prefix = `[${name}#${generation}] `;
    const write = (data: Buffer): void => void log.write(data.toString('utf8').replace(/^(?=.)/gm, prefix));
    child.stdout?.on('data', write);
    child.stderr?.on('data', write);
    this.exit = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exited = `exited with ${code ?? signal}`;
        log.write(`${prefix}${this.exited}\n`);
        resolve();
      });
      child.once('error', (err) => {
        this.exited = `could not start: ${err.message}`;
        resolve();
      });
    });
  }

  get pid(): number | null {
    return this.child.pid ?? null;
  }

  get exitReason(): string | null {
    return this.exited;
  }

  async kill(signal: NodeJS.Signals): Promise<void> {
    if (this.exited !== null) return;
    this.child.kill(signal);
    await this.exit;
  }

  /** SIGTERM, then SIGKILL if it does not stop within `graceMs`. */
  async stop(graceMs = 10_000): Promise<void> {
    if (this.exited !== null) return;
    const force = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    this.child.kill('SIGTERM');
    await this.exit;
    clearTimeout(force);
  }

  /** Last resort on exit: no waiting is possible any more. */
  killNow(): void {
    if (this.exited === null) this.child.kill('SIGKILL');
  }

  whenExited(): Promise<void> {
    return this.exit;
  }
}

/**
 * The api or the worker across its lives. A life that ends without being killed on purpose is a
 * crash: the supervisor starts the next one after a second, as a process manager would.
 */
export class SupervisedService {
  private life: ServiceLife | null = null;
  private generation = 0;
  private intentionalStop = false;
  private closed = false;
  crashes = 0;
  kills = 0;

  constructor(
    readonly name: ServiceName,
    private readonly env: Record<string, string>,
    private readonly log: WriteStream,
    private readonly note: (line: string) => void,
  ) {}

  get pid(): number | null {
    return this.life?.exitReason === null ? this.life.pid : null;
  }

  get running(): boolean {
    return this.life !== null && this.life.exitReason === null;
  }

  start(): void {
    if (this.closed || this.running) return;
    this.intentionalStop = false;
    const child = spawn(process.execPath, ['--import', 'tsx', ENTRY[this.name]], {
      cwd: projectRoot,
      env: { ...process.env, ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const life = new ServiceLife(this.name, ++this.generation, child, this.log);
    this.life = life;
    void life.whenExited().then(() => this.onExit(life));
  }

  /** SIGKILL, as a crash of the host would; the service stays down until `start`. */
  async kill(): Promise<void> {
    this.intentionalStop = true;
    this.kills++;
    await this.life?.kill('SIGKILL');
  }

  async close(): Promise<void> {
    this.closed = true;
    this.intentionalStop = true;
    await this.life?.stop();
  }

  killNow(): void {
    this.closed = true;
    this.life?.killNow();
  }

  private onExit(life: ServiceLife): void {
    if (this.intentionalStop || this.closed || life !== this.life) return;
    this.crashes++;
    this.note(`${this.name} ${life.exitReason ?? 'exited'} on its own; restarting it (see ${this.name}.log)`);
    void sleep(1_000).then(() => this.start());
  }
}

/** The Temporal dev server on a fixed port and SQLite file, so it can be stopped and started again with its history. */
export class RestartableTemporal {
  private server: DevServer | null = null;
  restarts = 0;

  constructor(
    private readonly cli: string,
    readonly port: number,
    readonly dbFilename: string,
  ) {}

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.server = await startDevServer({
      cli: this.cli,
      port: this.port,
      dbFilename: this.dbFilename,
      readyTimeoutSeconds: 120,
    });
  }

  /** Stops the server (SIGTERM, as an orderly restart would) and starts it again on the same port and database. */
  async restart(): Promise<void> {
    await this.stop();
    this.restarts++;
    await this.start();
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    await server?.stop();
  }

  /** On a hard exit, without waiting: the server is found by its command line, which names this run's own database file. */
  killNow(): void {
    if (this.server === null) return;
    const pid = findProcess(['start-dev', `--port ${this.port} `, this.dbFilename]);
    if (pid !== null) process.kill(pid, 'SIGKILL');
  }
}

export function openLog(dir: string, name: string): WriteStream {
  return createWriteStream(path.join(dir, `${name}.log`), { flags: 'a' });
}
