import { readFileSync, statSync } from 'node:fs';
import { MdcapError } from '@mdcap/core';
import { findChannel, parseChannelConfig, parseSchema } from '@mdcap/mdp3';
import type { ChannelConfig, Schema } from '@mdcap/mdp3';

/**
 * The bytes of an input file the user named.
 * @throws {MdcapError} `MDCAP_ERR_IO` naming the file, what it should have been, and what was found.
 */
export function readInput(path: string, what: string): Buffer {
  let found: string;
  try {
    if (statSync(path).isFile()) return readFileSync(path);
    found = 'not a file';
  } catch (error) {
    found = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'nothing there' : (error as Error).message;
  }
  throw new MdcapError('MDCAP_ERR_IO', `${path}: expected ${what}, found ${found}`);
}

/**
 * A CME channel's configuration (from CME's `config.xml`) and the SBE schema, read and parsed:
 * what the live feed and a pcap import both start from.
 * @throws {MdcapError} `MDCAP_ERR_IO` for a file that cannot be read, `MDCAP_ERR_SBE_SCHEMA` for a
 *   schema that is not one, `MDCAP_ERR_INVALID_OPTION` for a channel the configuration lacks.
 */
export function loadCmeChannel(o: { readonly channelConfig: string; readonly channel: number; readonly sbeSchema: string }): {
  readonly config: ChannelConfig;
  readonly schema: Schema;
} {
  const config = findChannel(
    parseChannelConfig(readInput(o.channelConfig, "CME's channel configuration (config.xml)").toString('utf8'), o.channelConfig),
    o.channel,
  );
  const schema = parseSchema(readInput(o.sbeSchema, 'an SBE schema').toString('utf8'), o.sbeSchema);
  return { config, schema };
}
