import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type http from 'node:http';

/** A state file that is there but cannot be read back; the message names the file and the way out. */
export class UnreadableStateFile extends Error {
  constructor(file: string, reason: string) {
    super(`${file} cannot be read back (${reason}). Delete it, or start from scratch with \`npm start -- --reset\`.`);
    this.name = 'UnreadableStateFile';
  }
}

/**
 * One sandbox's records in one JSON file, so a restarted sandbox (under `npm start`) still knows
 * the customers, links, webhooks and OAuth grants of the last run. Every request may change the
 * records, so each one schedules a write shortly after it; closing writes at once. A write goes
 * to a temporary file first and is renamed over the old one, so a kill never leaves half a file.
 */
export class StateFile {
  private timer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    readonly file: string,
    private readonly snapshot: () => unknown,
    private readonly delayMs = 200,
  ) {}

  /** The parsed content, or null when there is no file yet. */
  static read(file: string): unknown {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      if (err instanceof Error && 'code' in err && err.code === 'ENOENT') return null;
      throw new UnreadableStateFile(file, err instanceof Error ? err.message : String(err));
    }
    try {
      return JSON.parse(text) as unknown;
    } catch (err) {
      throw new UnreadableStateFile(file, err instanceof Error ? err.message : String(err));
    }
  }

  /** The server's handler, with every answered request scheduling a write. */
  around(handler: http.RequestListener): http.RequestListener {
    return (req, res) => {
      res.once('finish', () => this.changed());
      handler(req, res);
    };
  }

  changed(): void {
    if (this.closed || this.timer !== null) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.write();
    }, this.delayMs);
    this.timer.unref();
  }

  write(): void {
    mkdirSync(path.dirname(this.file), { recursive: true });
    const temporary = `${this.file}.${process.pid}.tmp`;
    writeFileSync(temporary, JSON.stringify(this.snapshot()), { mode: 0o600 });
    renameSync(temporary, this.file);
  }

  /** Writes what is pending now; nothing is written after this. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.write();
  }
}
