import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '@mdcap/test-utils';
import { describe, expect, it } from 'vitest';

/**
 * Each package's built entry, loaded by plain Node through its `exports` map (the way a user's
 * code loads it), has exactly the named exports of its source entry, and no default export.
 * Every package of the workspace is checked, whatever is added later.
 */
const PACKAGES = readdirSync(join(REPO_ROOT, 'packages')).filter((p) => {
  try {
    return (JSON.parse(readFileSync(join(REPO_ROOT, 'packages', p, 'package.json'), 'utf8')) as { name?: string }).name === `@mdcap/${p}`;
  } catch {
    return false;
  }
});

describe('package entries', () => {
  it('covers every package', () => {
    expect(PACKAGES).toEqual(
      expect.arrayContaining([
        'analytics',
        'backtest',
        'capture',
        'cli',
        'core',
        'dbn',
        'emulators',
        'engine',
        'feeds',
        'mdp3',
        'pipeline',
        'replay',
        'ring',
        'serve',
        'sim',
        'sinks',
      ]),
    );
  });

  it.each(PACKAGES)('@mdcap/%s loads from dist with the same named exports as its source', { timeout: 60_000 }, async (name) => {
    const source = (await import(`@mdcap/${name}`)) as Record<string, unknown>;
    const script = `import * as m from '@mdcap/${name}'; console.log(JSON.stringify(Object.keys(m).sort()));`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: join(REPO_ROOT, 'packages', name),
      encoding: 'utf8',
    });
    const built = JSON.parse(out.trim().split('\n').pop()!) as string[];
    expect(built).toEqual(Object.keys(source).sort());
    expect(built).not.toContain('default');
  });
});
