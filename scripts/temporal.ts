import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { resolveTemporalCli, TemporalCliUnavailable } from './temporal-cli';

const blank = (value: string | undefined): boolean => value === undefined || value.trim() === '';

function operatorToken(env: NodeJS.ProcessEnv): string | null {
  if (!blank(env.OPERATOR_TOKEN)) return String(env.OPERATOR_TOKEN).trim();
  try {
    return readFileSync(
      path.join(path.resolve(blank(env.DATA_DIR) ? './.data' : String(env.DATA_DIR)), 'operator-token'),
      'utf8',
    ).trim();
  } catch {
    // No `npm start` has generated one here: payloads are shown encrypted.
    return null;
  }
}

function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * The CLI's environment: the server `npm start` runs (TEMPORAL_ADDRESS, else TEMPORAL_PORT on
 * loopback), and, while the API answers, its codec with the operator token, so payloads and memos
 * read as clear JSON. Whatever the caller set already wins.
 */
async function cliEnv(env: NodeJS.ProcessEnv, args: readonly string[]): Promise<NodeJS.ProcessEnv> {
  if (args[0] === 'server') return env;
  const extra: NodeJS.ProcessEnv = {};
  if (blank(env.TEMPORAL_ADDRESS))
    extra.TEMPORAL_ADDRESS = `127.0.0.1:${blank(env.TEMPORAL_PORT) ? '7233' : String(env.TEMPORAL_PORT).trim()}`;
  const apiPort = Number(blank(env.PORT) ? '3000' : env.PORT);
  const token = operatorToken(env);
  if (blank(env.TEMPORAL_CODEC_ENDPOINT) && token !== null && Number.isInteger(apiPort) && (await answers(apiPort))) {
    extra.TEMPORAL_CODEC_ENDPOINT = `http://127.0.0.1:${apiPort}/codec`;
    extra.TEMPORAL_CODEC_AUTH = `Bearer ${token}`;
  }
  return { ...env, ...extra };
}

/** `npm run temporal -- ARGS`: the project's own Temporal CLI (found as `npm start` finds it), against the embedded server. */
async function main(args: readonly string[]): Promise<void> {
  let cli: string;
  try {
    cli = await resolveTemporalCli((line) => console.error(line));
  } catch (err) {
    console.error(err instanceof TemporalCliUnavailable ? err.message : err);
    process.exit(1);
  }
  const child = spawn(cli, args, { stdio: 'inherit', env: await cliEnv(process.env, args) });
  // A terminal's Ctrl-C reaches the CLI by itself; a signal sent to this process alone is passed on.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => child.kill(signal));
  child.once('error', (err) => {
    console.error(`${cli} could not be run: ${err.message}`);
    process.exit(1);
  });
  child.once('exit', (code, signal) =>
    process.exit(code ?? 128 + (signal === null ? 0 : os.constants.signals[signal])),
  );
}

void main(process.argv.slice(2));
