import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import * as core from '@mdcap/core';
import * as engine from '@mdcap/engine';
import * as ring from '@mdcap/ring';
import * as sim from '@mdcap/sim';
import { REPO_ROOT } from '@mdcap/test-utils';
import { describe, expect, it } from 'vitest';

/**
 * Each package's built entry, loaded by plain Node through its `exports` map (the way a user's
 * code loads it), has exactly the named exports of its source entry, and no default export.
 */
const sources: Record<string, object> = { core, ring, engine, sim };

describe('package entries', () => {
  it.each(Object.keys(sources))('@mdcap/%s loads from dist with the same named exports', (name) => {
    const script = `import * as m from '@mdcap/${name}'; console.log(JSON.stringify(Object.keys(m).sort()));`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: join(REPO_ROOT, 'packages', name),
      encoding: 'utf8',
    });
    const built = JSON.parse(out) as string[];
    expect(built).toEqual(Object.keys(sources[name]!).sort());
    expect(built).not.toContain('default');
  });
});
