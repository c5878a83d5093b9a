import { existsSync, readFileSync, statSync } from 'node:fs';
import { CaptureError, MdcapError, nsToIso } from '@mdcap/core';
import { datasetPath } from '@mdcap/emulators';
import { parseSchema, SbeCodec, SbeDecimal, udpDatagrams } from '@mdcap/mdp3';
import type { DecodedMessage, SbeRecord, SbeValue, Schema } from '@mdcap/mdp3';
import type { Argv } from 'yargs';
import { EXIT, warn } from '../command.js';
import type { Command } from '../command.js';
import { count, LineOutput, Progress } from '../output.js';

interface Mdp3Args {
  readonly file: string;
  readonly json: boolean;
  readonly schema?: string;
  readonly limit?: number;
  readonly skipBad: boolean;
  readonly port?: number;
}

/** The schema CME publishes, as the datasets hold it (`--schema` for another version). */
export const DEFAULT_MDP3_SCHEMA = ['cme-mdp3', 'templates_FixBinary.v9.xml'] as const;

/**
 * Reads an SBE schema file: `--schema`, else the one of the datasets.
 * @throws {MdcapError} `MDCAP_ERR_IO` when there is no such file, `MDCAP_ERR_SBE_SCHEMA` when it is not an SBE schema.
 */
export function loadMdp3Schema(file: string | undefined): Schema {
  const path = file ?? datasetPath(...DEFAULT_MDP3_SCHEMA);
  if (!existsSync(path) || !statSync(path).isFile()) {
    throw new CaptureError(
      'MDCAP_ERR_IO',
      file === undefined
        ? `--schema: expected CME's MDP3 schema at ${path} (the datasets; set MDCAP_DATASETS), found nothing there: give --schema FILE (templates_FixBinary.xml)`
        : `--schema: expected an SBE schema file at ${path}, found nothing there`,
    );
  }
  return parseSchema(readFileSync(path, 'utf8'), path);
}

/** `NoMDEntries[0].MDEntryPx=2431.5`: a record flattened into `name=value` words. */
function words(r: SbeRecord, prefix: string, out: string[]): void {
  for (const [k, v] of Object.entries(r)) {
    if (Array.isArray(v) && v.length > 0 && typeof v[0] === 'object') {
      (v as readonly SbeRecord[]).forEach((e, i) => words(e, `${prefix}${k}[${i}].`, out));
    } else out.push(`${prefix}${k}=${text(v as SbeValue)}`);
  }
}

function text(v: SbeValue): string {
  if (v === null) return 'null';
  if (v instanceof SbeDecimal || typeof v === 'bigint' || typeof v === 'number') return String(v);
  if (typeof v === 'string') return /[\s"=]/.test(v) || v === '' ? JSON.stringify(v) : v;
  if (Array.isArray(v)) return (v as readonly string[]).join('|');
  return JSON.stringify(v);
}

const jsonReplacer = (_k: string, v: unknown): unknown => (typeof v === 'bigint' ? v.toString() : v);

export const mdp3Command: Command<Mdp3Args> = {
  command: 'mdp3 <file>',
  describe: "Decode the CME MDP 3.0 packets of a pcap or pcapng file: one line per message, with the schema's own field and enum names",
  builder: (y: Argv) =>
    y
      .positional('file', { type: 'string', describe: 'A pcap (µs or ns) or pcapng file of MDP3 UDP traffic (Ethernet, SLL or raw IPv4)' })
      .option('json', {
        type: 'boolean',
        default: false,
        describe: 'One JSON object per message (64-bit integers and prices as exact strings) instead of name=value text',
      })
      .option('schema', {
        type: 'string',
        describe: `The SBE schema (CME's templates_FixBinary.xml; default: ${DEFAULT_MDP3_SCHEMA.join('/')} of the datasets)`,
      })
      .option('port', { type: 'number', describe: 'Only UDP datagrams to this port (a capture of several channels)' })
      .option('limit', { type: 'number', describe: 'Stop after this many messages' })
      .option('skip-bad', {
        type: 'boolean',
        default: false,
        describe: 'Skip packets that cannot be decoded (each said on stderr, counted at the end) instead of failing',
      })
      .example('mdcap mdp3 channel310.pcap | head', 'the first messages: packet, sequence number, sending time, template, fields')
      .example(
        'mdcap mdp3 channel310.pcap --json | jq \'select(.template == "MDIncrementalRefreshTradeSummary48")\'',
        'trade summaries only',
      )
      .example('mdcap mdp3 old.pcap --schema templates_FixBinary.v8.xml', 'with the schema of another version'),
  async run(a) {
    if (!existsSync(a.file) || !statSync(a.file).isFile()) {
      throw new CaptureError('MDCAP_ERR_IO', `${a.file}: expected a pcap or pcapng file, found nothing there`);
    }
    if (a.limit !== undefined && (!Number.isInteger(a.limit) || a.limit < 0)) {
      throw new MdcapError('MDCAP_ERR_INVALID_OPTION', `--limit: expected a whole number ≥ 0, found ${a.limit}`);
    }
    const codec = new SbeCodec(loadMdp3Schema(a.schema));
    const out = new LineOutput();
    let messages = 0;
    let bad = 0;
    const bytes = readFileSync(a.file);
    // Printed to a file or a pipe: a bar on the terminal says how far (on the terminal the messages say it).
    const progress = new Progress(process.stdout.isTTY === true ? { enabled: false } : {});
    let at = 0;
    const text = (): string => `decoding ${a.file}: ${count(messages)} messages`;
    const fraction = (): number => (bytes.length === 0 ? 1 : at / bytes.length);
    const datagrams = udpDatagrams(bytes, a.file);
    try {
      for (let r = datagrams.next(); r.done !== true; r = datagrams.next()) {
        const d = r.value;
        at = d.offset;
        progress.update(text, fraction);
        if (a.port !== undefined && d.dstPort !== a.port) continue;
        let decoded: DecodedMessage[];
        let seqNum: number;
        let sendingTime: bigint;
        try {
          const p = codec.decodePacket(d.payload, `${a.file}: packet ${d.index} (file offset ${d.offset})`);
          ({ seqNum, sendingTime } = p);
          decoded = p.messages;
        } catch (error) {
          if (!a.skipBad || !(error instanceof MdcapError)) throw error;
          bad++;
          progress.clear();
          warn('mdp3', `skipped: ${error.message}`);
          continue;
        }
        for (const m of decoded) {
          if (a.limit !== undefined && messages >= a.limit) break;
          messages++;
          const head = {
            packet: d.index,
            seqNum,
            sendingTime,
            dst: `${d.dstIp}:${d.dstPort}`,
            template: m.name,
            templateId: m.templateId,
            version: m.version,
          };
          if (a.json) out.line(JSON.stringify({ ...head, fields: m.fields }, jsonReplacer));
          else {
            const w: string[] = [];
            words(m.fields, '', w);
            out.line(`#${d.index} seq=${seqNum} sent=${nsToIso(sendingTime)} ${head.dst} ${m.name} v${m.version} ${w.join(' ')}`);
          }
        }
        if (out.blocked) await out.ready();
        if (a.limit !== undefined && messages >= a.limit) break;
      }
    } finally {
      progress.done();
    }
    await out.end();
    if (bad > 0) warn('mdp3', `${bad} packet${bad === 1 ? '' : 's'} could not be decoded and were skipped`);
    return bad > 0 ? EXIT.problems : EXIT.ok;
  },
};
