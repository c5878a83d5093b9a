import { describeValue, MdcapError } from '@mdcap/core';
import type { CompositeType, EncodedType, FieldDef, GroupDef, MessageDef, Schema, SbeType } from './schema.js';

/**
 * Decoding and encoding by the schema's tables: the generic, self-describing path (`mdcap mdp3`,
 * the emulator, tests). Every value keeps its wire meaning: 64-bit integers are bigints, prices
 * are {@link SbeDecimal}s (the mantissa and the schema's constant exponent, never a float),
 * optional fields holding their null sentinel are `null`, enums are their names and sets the
 * names of their set bits. Fields a message's version predates, or that lie past the block length
 * it states, are absent, as SBE's schema evolution asks.
 */

/** A decimal as SBE carries it: an integer mantissa and a constant (negative) exponent. Exact. */
export class SbeDecimal {
  constructor(
    readonly mantissa: bigint,
    readonly exponent: number,
  ) {}

  /** The exact value as decimal text (`-7` exponent: `24472500000` is `2447.25`), trailing zeros dropped. */
  toString(): string {
    const neg = this.mantissa < 0n;
    let digits = (neg ? -this.mantissa : this.mantissa).toString();
    if (this.exponent >= 0) return `${neg ? '-' : ''}${digits}${'0'.repeat(this.exponent)}`;
    const scale = -this.exponent;
    digits = digits.padStart(scale + 1, '0');
    const int = digits.slice(0, digits.length - scale);
    const frac = digits.slice(digits.length - scale).replace(/0+$/, '');
    return `${neg ? '-' : ''}${int}${frac === '' ? '' : `.${frac}`}`;
  }

  toJSON(): string {
    return this.toString();
  }
}

export type SbeValue = number | bigint | string | null | SbeDecimal | readonly string[] | SbeRecord | readonly SbeRecord[];

export interface SbeRecord {
  [field: string]: SbeValue;
}

export interface DecodedMessage {
  readonly templateId: number;
  /** The schema's name of the template (`MDIncrementalRefreshBook32`). */
  readonly name: string;
  readonly schemaId: number;
  /** The version the message says it is encoded in (not the schema's). */
  readonly version: number;
  /** The root block length the message states. */
  readonly blockLength: number;
  /** Byte offset of the message (its `MsgSize`) in the packet. */
  readonly offset: number;
  /** `MsgSize`: the message's bytes, its size field included. */
  readonly size: number;
  readonly fields: SbeRecord;
  /** Each group's entry block length, as the message states it (an encoder reproduces the bytes with them). */
  readonly groupBlockLengths: Readonly<Record<string, number>>;
}

export interface DecodedPacket {
  /** `MsgSeqNum`: the channel's packet sequence number. */
  readonly seqNum: number;
  /** `SendingTime`: ns since the epoch, as the exchange sent the packet. */
  readonly sendingTime: bigint;
  readonly messages: DecodedMessage[];
}

/** MDP3's packet header: `MsgSeqNum` u32, `SendingTime` u64. */
export const PACKET_HEADER_BYTES = 12;
/** Each message's `MsgSize` prefix. */
export const MESSAGE_SIZE_BYTES = 2;

export interface EncodeOptions {
  /** The version to state in the header (default: the schema's): fields newer than it are not written. */
  readonly version?: number;
  /** The root block length to state (default: the schema's for the template). */
  readonly blockLength?: number;
  /** Group entry block lengths to state (default: the schema's). */
  readonly groupBlockLengths?: Readonly<Record<string, number>>;
}

type Fail = (what: string, at: number) => never;

/** Interprets a {@link Schema}: decodes packets and messages into records, and encodes records into messages. */
export class SbeCodec {
  private readonly le: boolean;
  private readonly headerSize: number;
  private readonly h: Readonly<Record<'blockLength' | 'templateId' | 'schemaId' | 'version', EncodedType>>;

  constructor(readonly schema: Schema) {
    this.le = schema.byteOrder === 'littleEndian';
    this.headerSize = schema.header.size;
    const m = (n: string): EncodedType => schema.header.members.find((x) => x.name === n)!;
    this.h = { blockLength: m('blockLength'), templateId: m('templateId'), schemaId: m('schemaId'), version: m('version') };
  }

  /**
   * Decodes one MDP3 packet: its header, then each message by its `MsgSize`.
   * @param where Names the packet in errors (`packet 7 of FILE`).
   * @throws {MdcapError} `MDCAP_ERR_SBE_DECODE` for a truncated packet, a message size past its
   *   end, an unknown template, or a block or group past its message; the message names the
   *   packet and the byte offset.
   */
  decodePacket(bytes: Uint8Array, where = 'packet'): DecodedPacket {
    const fail: Fail = (what, at) => {
      throw new MdcapError('MDCAP_ERR_SBE_DECODE', `${where}, byte ${at}: ${what}`);
    };
    if (bytes.length < PACKET_HEADER_BYTES) fail(`expected a ${PACKET_HEADER_BYTES}-byte packet header, found ${bytes.length} bytes`, 0);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const seqNum = view.getUint32(0, true);
    const sendingTime = view.getBigUint64(4, true);
    const messages: DecodedMessage[] = [];
    let at = PACKET_HEADER_BYTES;
    while (at < bytes.length) {
      if (at + MESSAGE_SIZE_BYTES > bytes.length) fail(`expected a 2-byte message size, found ${bytes.length - at} bytes`, at);
      const size = view.getUint16(at, true);
      if (size < MESSAGE_SIZE_BYTES + this.headerSize)
        fail(`expected a message size of at least ${MESSAGE_SIZE_BYTES + this.headerSize}, found ${size}`, at);
      if (at + size > bytes.length)
        fail(`expected ${size} bytes of message (its MsgSize), found ${bytes.length - at} left in the packet`, at);
      messages.push(this.decodeMessage(view, at, size, fail));
      at += size;
    }
    return { seqNum, sendingTime, messages };
  }

  /** The message whose `MsgSize` is at `at`, `size` bytes long. */
  private decodeMessage(view: DataView, at: number, size: number, fail: Fail): DecodedMessage {
    const base = at + MESSAGE_SIZE_BYTES;
    const end = at + size;
    const h = this.h;
    const blockLength = Number(this.readInt(view, base + h.blockLength.offset, h.blockLength));
    const templateId = Number(this.readInt(view, base + h.templateId.offset, h.templateId));
    const schemaId = Number(this.readInt(view, base + h.schemaId.offset, h.schemaId));
    const version = Number(this.readInt(view, base + h.version.offset, h.version));
    const def = this.schema.messages.get(templateId);
    if (def === undefined) {
      fail(
        `expected a template id of schema ${this.schema.id} v${this.schema.version} (${this.schema.file}), found ${templateId} (schema id ${schemaId}, version ${version}); a newer schema may define it`,
        at,
      );
    }
    const root = base + this.headerSize;
    if (root + blockLength > end)
      fail(`expected ${def.name}'s ${blockLength}-byte root block within its ${size}-byte message, found it past the end`, at);
    const fields: SbeRecord = {};
    this.readFields(view, root, blockLength, def.fields, version, fields);
    const groupBlockLengths: Record<string, number> = {};
    this.readGroups(view, root + blockLength, end, def.groups, version, fields, groupBlockLengths, def.name, fail);
    return { templateId, name: def.name, schemaId, version, blockLength, offset: at, size, fields, groupBlockLengths };
  }

  /** Reads the groups starting at `at`; returns where they end. */
  private readGroups(
    view: DataView,
    at: number,
    end: number,
    groups: readonly GroupDef[],
    version: number,
    out: SbeRecord,
    blockLengths: Record<string, number> | null,
    owner: string,
    fail: Fail,
  ): number {
    for (const g of groups) {
      if (g.sinceVersion > version) continue; // not in a message of this version: no bytes either
      const dim = g.dimension;
      if (at + dim.size > end)
        fail(`expected ${owner}.${g.name}'s ${dim.size}-byte group header, found ${end - at} bytes left in the message`, at);
      const bl = Number(this.readInt(view, at + member(dim, 'blockLength').offset, member(dim, 'blockLength')));
      const n = Number(this.readInt(view, at + member(dim, 'numInGroup').offset, member(dim, 'numInGroup')));
      if (blockLengths !== null) blockLengths[g.name] = bl;
      at += dim.size;
      const entries: SbeRecord[] = [];
      for (let i = 0; i < n; i++) {
        if (at + bl > end)
          fail(`expected entry ${i} of ${n} of ${owner}.${g.name} (${bl} bytes) within the message, found it past the end`, at);
        const e: SbeRecord = {};
        this.readFields(view, at, bl, g.fields, version, e);
        at = this.readGroups(view, at + bl, end, g.groups, version, e, null, `${owner}.${g.name}`, fail);
        entries.push(e);
      }
      out[g.name] = entries;
    }
    return at;
  }

  private readFields(view: DataView, block: number, blockLength: number, defs: readonly FieldDef[], version: number, out: SbeRecord): void {
    for (const f of defs) {
      if (f.sinceVersion > version) continue;
      if (f.presence === 'constant') {
        out[f.name] = (f.type as EncodedType).constant;
        continue;
      }
      if (f.offset + f.size > blockLength) continue; // an older block: the field is absent
      out[f.name] = this.readValue(view, block + f.offset, f.type);
    }
  }

  private readValue(view: DataView, at: number, t: SbeType): SbeValue {
    switch (t.kind) {
      case 'type':
        return this.readEncoded(view, at, t);
      case 'composite': {
        if (t.exponent !== null) {
          const m = member(t, 'mantissa');
          const raw = this.readInt(view, at + m.offset, m);
          return m.nullValue !== null && BigInt(raw) === m.nullValue ? null : new SbeDecimal(BigInt(raw), t.exponent);
        }
        const r: SbeRecord = {};
        for (const m of t.members) r[m.name] = this.readEncoded(view, at + m.offset, m);
        return r;
      }
      case 'enum': {
        const raw = this.readRaw(view, at, t.encoding);
        if (raw === null) return null;
        return t.names.get(raw) ?? `<unknown ${raw}>`;
      }
      case 'set': {
        const raw = this.readInt(view, at, t.encoding);
        const bits = BigInt(raw);
        return t.choices.filter((c) => ((bits >> BigInt(c.bit)) & 1n) === 1n).map((c) => c.name);
      }
    }
  }

  /** A raw value as an enum looks it up: a char as itself, an integer as decimal text; null when it is the type's null. */
  private readRaw(view: DataView, at: number, t: EncodedType): string | null {
    const v = this.readEncoded(view, at, t);
    if (v === null) return null;
    return typeof v === 'string' ? v : String(v);
  }

  private readEncoded(view: DataView, at: number, t: EncodedType): number | bigint | string | null {
    if (t.presence === 'constant') return t.constant;
    if (t.primitive === 'char') {
      if (t.length === 1) {
        const c = view.getUint8(at);
        return t.nullValue !== null && BigInt(c) === t.nullValue ? null : String.fromCharCode(c);
      }
      let s = '';
      for (let i = 0; i < t.length; i++) {
        const c = view.getUint8(at + i);
        if (c === 0) break;
        s += String.fromCharCode(c);
      }
      return s;
    }
    if (t.primitive === 'float') return view.getFloat32(at, this.le);
    if (t.primitive === 'double') return view.getFloat64(at, this.le);
    const v = this.readInt(view, at, t);
    if (t.nullValue !== null && BigInt(v) === t.nullValue) return null;
    return v;
  }

  private readInt(view: DataView, at: number, t: EncodedType): number | bigint {
    const le = this.le;
    switch (t.primitive) {
      case 'int8':
        return view.getInt8(at);
      case 'uint8':
      case 'char':
        return view.getUint8(at);
      case 'int16':
        return view.getInt16(at, le);
      case 'uint16':
        return view.getUint16(at, le);
      case 'int32':
        return view.getInt32(at, le);
      case 'uint32':
        return view.getUint32(at, le);
      case 'int64':
        return view.getBigInt64(at, le);
      case 'uint64':
        return view.getBigUint64(at, le);
      case 'float':
      case 'double':
        throw new MdcapError(
          'MDCAP_ERR_SBE_SCHEMA',
          `${this.schema.file}: type ${t.name}: expected an integer primitive, found ${t.primitive}`,
        );
    }
  }

  /**
   * Encodes one message (its SBE header and body, without the `MsgSize` prefix {@link encodePacket} adds).
   * @param template The template's name (`MDIncrementalRefreshBook32`) or id.
   * @throws {MdcapError} `MDCAP_ERR_INVALID_OPTION` for an unknown template, a required field
   *   without a value, or a value its type cannot carry exactly (a decimal of another exponent).
   */
  encodeMessage(template: string | number, fields: SbeRecord, options: EncodeOptions = {}): Uint8Array {
    const def = typeof template === 'number' ? this.schema.messages.get(template) : this.schema.messagesByName.get(template);
    if (def === undefined) {
      throw new MdcapError(
        'MDCAP_ERR_INVALID_OPTION',
        `encode: expected a template of ${this.schema.file}, found ${describeValue(template)}`,
      );
    }
    const version = options.version ?? this.schema.version;
    const blockLength = options.blockLength ?? def.blockLength;
    const size = this.headerSize + blockLength + this.groupsSize(def.groups, fields, version, options.groupBlockLengths ?? {});
    const bytes = new Uint8Array(size);
    const view = new DataView(bytes.buffer);
    const h = this.h;
    this.writeInt(view, h.blockLength.offset, h.blockLength, BigInt(blockLength));
    this.writeInt(view, h.templateId.offset, h.templateId, BigInt(def.id));
    this.writeInt(view, h.schemaId.offset, h.schemaId, BigInt(this.schema.id));
    this.writeInt(view, h.version.offset, h.version, BigInt(version));
    this.writeFields(view, this.headerSize, blockLength, def.fields, version, fields, def.name);
    this.writeGroups(view, this.headerSize + blockLength, def.groups, version, fields, options.groupBlockLengths ?? {}, def.name);
    return bytes;
  }

  private groupsSize(groups: readonly GroupDef[], fields: SbeRecord, version: number, bls: Readonly<Record<string, number>>): number {
    let n = 0;
    for (const g of groups) {
      if (g.sinceVersion > version) continue;
      const entries = (fields[g.name] ?? []) as readonly SbeRecord[];
      n += g.dimension.size;
      for (const e of entries) n += (bls[g.name] ?? g.blockLength) + this.groupsSize(g.groups, e, version, {});
    }
    return n;
  }

  private writeGroups(
    view: DataView,
    at: number,
    groups: readonly GroupDef[],
    version: number,
    fields: SbeRecord,
    bls: Readonly<Record<string, number>>,
    owner: string,
  ): number {
    for (const g of groups) {
      if (g.sinceVersion > version) continue;
      const entries = (fields[g.name] ?? []) as readonly SbeRecord[];
      const bl = bls[g.name] ?? g.blockLength;
      const numIn = member(g.dimension, 'numInGroup');
      if (BigInt(entries.length) >= 1n << BigInt(numIn.size * 8)) {
        throw new MdcapError(
          'MDCAP_ERR_INVALID_OPTION',
          `encode ${owner}.${g.name}: expected at most ${2 ** (numIn.size * 8) - 1} entries, found ${entries.length}`,
        );
      }
      this.writeInt(view, at + member(g.dimension, 'blockLength').offset, member(g.dimension, 'blockLength'), BigInt(bl));
      this.writeInt(view, at + numIn.offset, numIn, BigInt(entries.length));
      at += g.dimension.size;
      for (const e of entries) {
        this.writeFields(view, at, bl, g.fields, version, e, `${owner}.${g.name}`);
        at = this.writeGroups(view, at + bl, g.groups, version, e, {}, `${owner}.${g.name}`);
      }
    }
    return at;
  }

  private writeFields(
    view: DataView,
    block: number,
    blockLength: number,
    defs: readonly FieldDef[],
    version: number,
    values: SbeRecord,
    owner: string,
  ): void {
    for (const f of defs) {
      if (f.presence === 'constant' || f.sinceVersion > version || f.offset + f.size > blockLength) continue;
      this.writeValue(view, block + f.offset, f.type, values[f.name], `${owner}.${f.name}`);
    }
  }

  private writeValue(view: DataView, at: number, t: SbeType, v: SbeValue | undefined, what: string): void {
    const bad = (expected: string): never => {
      throw new MdcapError('MDCAP_ERR_INVALID_OPTION', `encode ${what}: expected ${expected}, found ${describeValue(v)}`);
    };
    switch (t.kind) {
      case 'type':
        this.writeEncoded(view, at, t, v, what);
        return;
      case 'composite': {
        if (t.exponent !== null) {
          const m = member(t, 'mantissa');
          if (v === null || v === undefined) {
            if (m.nullValue === null) return bad(`a ${t.name} (required)`);
            this.writeInt(view, at + m.offset, m, m.nullValue);
          } else if (v instanceof SbeDecimal) {
            if (v.exponent !== t.exponent) bad(`a ${t.name} with exponent ${t.exponent}`);
            this.writeInt(view, at + m.offset, m, v.mantissa);
          } else if (typeof v === 'bigint') this.writeInt(view, at + m.offset, m, v);
          else bad(`an SbeDecimal or a bigint mantissa for ${t.name}`);
          return;
        }
        const r = (v ?? {}) as SbeRecord;
        for (const m of t.members) this.writeEncoded(view, at + m.offset, m, r[m.name], `${what}.${m.name}`);
        return;
      }
      case 'enum': {
        if (v === null || v === undefined) {
          this.writeEncoded(view, at, t.encoding, null, what);
          return;
        }
        const raw = typeof v === 'string' ? t.values.get(v) : undefined;
        if (raw === undefined) return bad(`a value of enum ${t.name} (${[...t.values.keys()].join(', ')})`);
        this.writeEncoded(view, at, t.encoding, t.encoding.primitive === 'char' ? raw : BigInt(raw), what);
        return;
      }
      case 'set': {
        let bits = 0n;
        for (const name of (v ?? []) as readonly string[]) {
          const c = t.choices.find((x) => x.name === name);
          if (c === undefined) bad(`choices of set ${t.name} (${t.choices.map((x) => x.name).join(', ')})`);
          bits |= 1n << BigInt(c!.bit);
        }
        this.writeInt(view, at, t.encoding, bits);
        return;
      }
    }
  }

  private writeEncoded(view: DataView, at: number, t: EncodedType, v: SbeValue | undefined, what: string): void {
    if (t.presence === 'constant') return;
    if (v === null || v === undefined) {
      if (t.nullValue === null) {
        if (t.primitive === 'char' && t.length > 1) return; // an empty char array: all NULs
        throw new MdcapError('MDCAP_ERR_INVALID_OPTION', `encode ${what}: expected a value (${t.name} is required), found none`);
      }
      if (t.primitive === 'char') {
        for (let i = 0; i < t.length; i++) view.setUint8(at + i, Number(t.nullValue));
        return;
      }
      this.writeInt(view, at, t, t.nullValue);
      return;
    }
    if (t.primitive === 'char') {
      if (typeof v !== 'string' || v.length > t.length || [...v].some((c) => c.charCodeAt(0) > 0xff)) {
        throw new MdcapError(
          'MDCAP_ERR_INVALID_OPTION',
          `encode ${what}: expected at most ${t.length} Latin-1 characters, found ${describeValue(v)}`,
        );
      }
      for (let i = 0; i < v.length; i++) view.setUint8(at + i, v.charCodeAt(i));
      return;
    }
    if (t.primitive === 'float' || t.primitive === 'double') {
      if (typeof v !== 'number')
        throw new MdcapError('MDCAP_ERR_INVALID_OPTION', `encode ${what}: expected a number, found ${describeValue(v)}`);
      if (t.primitive === 'float') view.setFloat32(at, v, this.le);
      else view.setFloat64(at, v, this.le);
      return;
    }
    if (typeof v !== 'number' && typeof v !== 'bigint') {
      throw new MdcapError('MDCAP_ERR_INVALID_OPTION', `encode ${what}: expected an integer, found ${describeValue(v)}`);
    }
    this.writeInt(view, at, t, BigInt(v));
  }

  private writeInt(view: DataView, at: number, t: EncodedType, v: bigint): void {
    const le = this.le;
    const bits = PRIMITIVE_BITS[t.primitive] ?? 64;
    const signed = t.primitive.startsWith('int');
    const min = signed ? -(1n << BigInt(bits - 1)) : 0n;
    const max = signed ? (1n << BigInt(bits - 1)) - 1n : (1n << BigInt(bits)) - 1n;
    if (v < min || v > max) throw new MdcapError('MDCAP_ERR_INVALID_OPTION', `encode ${t.name}: expected ${min} to ${max}, found ${v}`);
    switch (t.primitive) {
      case 'int8':
        view.setInt8(at, Number(v));
        return;
      case 'uint8':
      case 'char':
        view.setUint8(at, Number(v));
        return;
      case 'int16':
        view.setInt16(at, Number(v), le);
        return;
      case 'uint16':
        view.setUint16(at, Number(v), le);
        return;
      case 'int32':
        view.setInt32(at, Number(v), le);
        return;
      case 'uint32':
        view.setUint32(at, Number(v), le);
        return;
      case 'int64':
        view.setBigInt64(at, v, le);
        return;
      case 'uint64':
        view.setBigUint64(at, v, le);
        return;
      case 'float':
      case 'double':
        throw new MdcapError(
          'MDCAP_ERR_SBE_SCHEMA',
          `${this.schema.file}: type ${t.name}: expected an integer primitive, found ${t.primitive}`,
        );
    }
  }

  /** One packet: the header, then each message behind its `MsgSize`. */
  encodePacket(seqNum: number, sendingTime: bigint, messages: readonly Uint8Array[]): Uint8Array {
    let size = PACKET_HEADER_BYTES;
    for (const m of messages) size += MESSAGE_SIZE_BYTES + m.length;
    const out = new Uint8Array(size);
    const view = new DataView(out.buffer);
    view.setUint32(0, seqNum, true);
    view.setBigUint64(4, sendingTime, true);
    let at = PACKET_HEADER_BYTES;
    for (const m of messages) {
      if (m.length + MESSAGE_SIZE_BYTES > 0xffff) {
        throw new MdcapError(
          'MDCAP_ERR_INVALID_OPTION',
          `encode packet ${seqNum}: expected messages of at most 65,533 bytes, found ${m.length}`,
        );
      }
      view.setUint16(at, m.length + MESSAGE_SIZE_BYTES, true);
      out.set(m, at + MESSAGE_SIZE_BYTES);
      at += MESSAGE_SIZE_BYTES + m.length;
    }
    return out;
  }

  /** The template named `name` (or with id `name`). */
  message(name: string | number): MessageDef | undefined {
    return typeof name === 'number' ? this.schema.messages.get(name) : this.schema.messagesByName.get(name);
  }
}

const PRIMITIVE_BITS: Readonly<Record<string, number>> = {
  char: 8,
  int8: 8,
  uint8: 8,
  int16: 16,
  uint16: 16,
  int32: 32,
  uint32: 32,
  int64: 64,
  uint64: 64,
};

function member(c: CompositeType, name: string): EncodedType {
  return c.members.find((m) => m.name === name)!;
}
