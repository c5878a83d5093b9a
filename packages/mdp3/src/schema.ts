import { MdcapError } from '@mdcap/core';
import { parseXml } from './xml.js';
import type { XmlElement } from './xml.js';

/**
 * An SBE message schema (CME's `templates_FixBinary.xml`), read once into plain tables that the
 * decoder and encoder interpret: types with their sizes, null sentinels and constants, composites
 * with member offsets, enums and sets, and messages with fields and repeating groups. Nothing is
 * generated: the schema a user gives (`--schema FILE`) is the one used.
 */

export type Primitive = 'char' | 'int8' | 'uint8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'int64' | 'uint64' | 'float' | 'double';

const PRIMITIVE_SIZE: Readonly<Record<Primitive, number>> = {
  char: 1,
  int8: 1,
  uint8: 1,
  int16: 2,
  uint16: 2,
  int32: 4,
  uint32: 4,
  int64: 8,
  uint64: 8,
  float: 4,
  double: 8,
};

/** The SBE default null of an optional integer type without a `nullValue`. */
const DEFAULT_NULL: Readonly<Record<Primitive, bigint | null>> = {
  char: 0n,
  int8: -128n,
  uint8: 255n,
  int16: -32768n,
  uint16: 65535n,
  int32: -2147483648n,
  uint32: 4294967295n,
  int64: -9223372036854775808n,
  uint64: 18446744073709551615n,
  float: null,
  double: null,
};

export type Presence = 'required' | 'optional' | 'constant';

/** A `<type>`: one primitive, or an array of `char` (`length` > 1). */
export interface EncodedType {
  readonly kind: 'type';
  readonly name: string;
  readonly primitive: Primitive;
  /** Elements (a `char` array's length; 1 otherwise). */
  readonly length: number;
  readonly presence: Presence;
  /** The raw value that means "no value" (optional integer types), else null. */
  readonly nullValue: bigint | null;
  /** A constant's value as the schema writes it (its element text), else null. */
  readonly constant: string | null;
  /** Bytes on the wire: 0 for a constant. */
  readonly size: number;
  /** Where it sits in its composite (0 for a standalone type). */
  readonly offset: number;
  readonly sinceVersion: number;
}

/** A `<composite>` of `<type>` members (MDP3's decimals, dates, group dimensions, the message header). */
export interface CompositeType {
  readonly kind: 'composite';
  readonly name: string;
  readonly members: readonly EncodedType[];
  readonly size: number;
  readonly sinceVersion: number;
  /**
   * A decimal with a constant exponent (`mantissa` and a constant `exponent`, as PRICE, PRICE9,
   * DecimalQty): the exponent, else null. Such values decode to {@link SbeDecimal}.
   */
  readonly exponent: number | null;
}

export interface EnumType {
  readonly kind: 'enum';
  readonly name: string;
  readonly encoding: EncodedType;
  /** Name by raw value (as text: a char, or a decimal integer). */
  readonly names: ReadonlyMap<string, string>;
  /** Raw value by name. */
  readonly values: ReadonlyMap<string, string>;
  readonly size: number;
  readonly sinceVersion: number;
}

export interface SetType {
  readonly kind: 'set';
  readonly name: string;
  readonly encoding: EncodedType;
  /** Choices by bit position. */
  readonly choices: readonly { readonly name: string; readonly bit: number }[];
  readonly size: number;
  readonly sinceVersion: number;
}

export type SbeType = EncodedType | CompositeType | EnumType | SetType;

export interface FieldDef {
  readonly name: string;
  readonly id: number;
  readonly type: SbeType;
  /** Offset in its block (constants take no bytes; theirs is meaningless). */
  readonly offset: number;
  readonly size: number;
  readonly sinceVersion: number;
  /** `constant` when its type is a constant (no bytes on the wire). */
  readonly presence: Presence;
}

export interface GroupDef {
  readonly name: string;
  readonly id: number;
  /** The schema's block length of one entry (a message says its own in the group's dimension). */
  readonly blockLength: number;
  readonly dimension: CompositeType;
  readonly fields: readonly FieldDef[];
  readonly groups: readonly GroupDef[];
  readonly sinceVersion: number;
}

export interface MessageDef {
  readonly name: string;
  readonly id: number;
  readonly blockLength: number;
  readonly fields: readonly FieldDef[];
  readonly groups: readonly GroupDef[];
  readonly sinceVersion: number;
  readonly semanticType: string;
  readonly description: string;
}

export interface Schema {
  /** Where it was read from (for messages). */
  readonly file: string;
  readonly package: string;
  readonly id: number;
  readonly version: number;
  readonly byteOrder: 'littleEndian' | 'bigEndian';
  readonly description: string;
  readonly header: CompositeType;
  readonly types: ReadonlyMap<string, SbeType>;
  readonly messages: ReadonlyMap<number, MessageDef>;
  readonly messagesByName: ReadonlyMap<string, MessageDef>;
}

function isPrimitive(s: string): s is Primitive {
  return Object.hasOwn(PRIMITIVE_SIZE, s);
}

/**
 * Reads an SBE schema.
 * @param text The XML.
 * @param file Names the schema in errors.
 * @throws {MdcapError} `MDCAP_ERR_SBE_SCHEMA` for a file that is not XML, not an SBE
 *   `messageSchema`, or uses what mdcap does not decode; the message names the file and line.
 */
export function parseSchema(text: string, file = 'schema'): Schema {
  const root = parseXml(text, file);
  const fail: (el: XmlElement, what: string) => never = (el, what) => {
    throw new MdcapError('MDCAP_ERR_SBE_SCHEMA', `${file}:${el.line}: ${what}`);
  };
  if (root.name !== 'messageSchema') fail(root, `expected an SBE <messageSchema> root element, found <${root.name}>`);
  const int = (el: XmlElement, attr: string, dflt?: number): number => {
    const v = el.attributes[attr];
    if (v === undefined) {
      if (dflt !== undefined) return dflt;
      return fail(el, `expected a ${attr} attribute on <${el.name}${nameOf(el)}>, found none`);
    }
    if (!/^-?\d+$/.test(v.trim())) fail(el, `expected an integer ${attr} on <${el.name}${nameOf(el)}>, found "${v}"`);
    return Number(v);
  };
  const order = root.attributes['byteOrder'] ?? 'littleEndian';
  if (order !== 'littleEndian' && order !== 'bigEndian') fail(root, `expected byteOrder littleEndian or bigEndian, found "${order}"`);
  const byteOrder = order;
  const typesEl = root.children.filter((c) => c.name === 'types');
  if (typesEl.length === 0) fail(root, 'expected a <types> element, found none');
  const types = new Map<string, SbeType>();
  const pending = new Map<string, XmlElement>();
  for (const t of typesEl) for (const c of t.children) pending.set(c.attributes['name'] ?? fail(c, `expected a name on <${c.name}>`), c);

  function encoded(el: XmlElement, offset: number): EncodedType {
    const name = el.attributes['name']!;
    const prim = el.attributes['primitiveType'] ?? '';
    if (!isPrimitive(prim))
      fail(el, `expected a primitiveType of ${Object.keys(PRIMITIVE_SIZE).join(', ')} on type ${name}, found "${prim}"`);
    const length = int(el, 'length', 1);
    if (length < 1 || (length > 1 && prim !== 'char')) fail(el, `expected length 1 (or a char array), found ${length} on type ${name}`);
    const presence = (el.attributes['presence'] ?? 'required') as Presence;
    if (!['required', 'optional', 'constant'].includes(presence)) {
      fail(el, `expected presence required, optional or constant on type ${name}, found "${presence}"`);
    }
    let nullValue: bigint | null = null;
    if (presence === 'optional' && prim !== 'float' && prim !== 'double') {
      const nv = el.attributes['nullValue'];
      if (nv === undefined) nullValue = DEFAULT_NULL[prim];
      else if (prim === 'char') nullValue = BigInt(nv.length === 1 ? nv.charCodeAt(0) : Number(nv));
      else {
        if (!/^-?\d+$/.test(nv)) fail(el, `expected an integer nullValue on type ${name}, found "${nv}"`);
        nullValue = BigInt(nv);
      }
    }
    if (presence === 'constant' && el.text === '') fail(el, `expected the constant's value inside <type name="${name}">, found none`);
    return {
      kind: 'type',
      name,
      primitive: prim,
      length,
      presence,
      nullValue,
      constant: presence === 'constant' ? el.text : null,
      size: presence === 'constant' ? 0 : PRIMITIVE_SIZE[prim] * length,
      offset: el.attributes['offset'] === undefined ? offset : int(el, 'offset'),
      sinceVersion: int(el, 'sinceVersion', 0),
    };
  }

  function resolve(name: string, from: XmlElement): SbeType {
    const known = types.get(name);
    if (known !== undefined) return known;
    if (isPrimitive(name)) {
      const t: EncodedType = {
        kind: 'type',
        name,
        primitive: name,
        length: 1,
        presence: 'required',
        nullValue: null,
        constant: null,
        size: PRIMITIVE_SIZE[name],
        offset: 0,
        sinceVersion: 0,
      };
      return t;
    }
    const el = pending.get(name);
    if (el === undefined) return fail(from, `expected a type named ${name} in <types>, found none`);
    pending.delete(name); // a cycle then fails as an unknown type instead of recursing
    let t: SbeType;
    switch (el.name) {
      case 'type':
        t = encoded(el, 0);
        break;
      case 'composite': {
        const members: EncodedType[] = [];
        let at = 0;
        for (const m of el.children) {
          if (m.name !== 'type') fail(m, `expected <type> members in composite ${name}, found <${m.name}> (not used by MDP3, not decoded)`);
          const member = encoded(m, at);
          members.push(member);
          at = member.offset + member.size;
        }
        const mantissa = members.find((m) => m.name === 'mantissa');
        const exponent = members.find((m) => m.name === 'exponent');
        const isDecimal = members.length === 2 && mantissa !== undefined && exponent?.constant !== null && exponent !== undefined;
        t = {
          kind: 'composite',
          name,
          members,
          size: members.reduce((s, m) => Math.max(s, m.offset + m.size), 0),
          sinceVersion: int(el, 'sinceVersion', 0),
          exponent: isDecimal ? Number(exponent.constant) : null,
        };
        break;
      }
      case 'enum':
      case 'set': {
        const encName = el.attributes['encodingType'] ?? fail(el, `expected an encodingType on ${el.name} ${name}`);
        const enc = resolve(encName, el);
        if (enc.kind !== 'type') return fail(el, `expected ${name}'s encodingType ${encName} to be a <type>, found a ${enc.kind}`);
        if (el.name === 'enum') {
          const names = new Map<string, string>();
          const values = new Map<string, string>();
          for (const v of el.children) {
            if (v.name !== 'validValue') fail(v, `expected <validValue> in enum ${name}, found <${v.name}>`);
            const vn = v.attributes['name'] ?? fail(v, `expected a name on a validValue of enum ${name}`);
            names.set(v.text, vn);
            values.set(vn, v.text);
          }
          t = { kind: 'enum', name, encoding: enc, names, values, size: enc.size, sinceVersion: int(el, 'sinceVersion', 0) };
        } else {
          const choices = el.children.map((c) => {
            if (c.name !== 'choice') fail(c, `expected <choice> in set ${name}, found <${c.name}>`);
            return { name: c.attributes['name'] ?? fail(c, `expected a name on a choice of set ${name}`), bit: Number(c.text) };
          });
          t = { kind: 'set', name, encoding: enc, choices, size: enc.size, sinceVersion: int(el, 'sinceVersion', 0) };
        }
        break;
      }
      default:
        return fail(el, `expected <type>, <composite>, <enum> or <set> in <types>, found <${el.name}>`);
    }
    types.set(name, t);
    return t;
  }

  for (const name of [...pending.keys()]) if (pending.has(name)) resolve(name, pending.get(name)!);

  const header = types.get(root.attributes['headerType'] ?? 'messageHeader');
  if (header?.kind !== 'composite')
    return fail(root, 'expected a composite messageHeader (blockLength, templateId, schemaId, version) in <types>, found none');
  for (const m of ['blockLength', 'templateId', 'schemaId', 'version']) {
    if (!header.members.some((x) => x.name === m)) fail(root, `expected a ${m} member in the message header composite, found none`);
  }

  function fields(parent: XmlElement, owner: string): { fields: FieldDef[]; groups: GroupDef[] } {
    const out: FieldDef[] = [];
    const groups: GroupDef[] = [];
    let at = 0;
    for (const c of parent.children) {
      if (c.name === 'field') {
        if (groups.length > 0)
          fail(c, `expected the fields of ${owner} before its groups, found field ${c.attributes['name'] ?? '?'} after one`);
        const name = c.attributes['name'] ?? fail(c, `expected a name on a field of ${owner}`);
        const type = resolve(c.attributes['type'] ?? fail(c, `expected a type on field ${owner}.${name}`), c);
        const constant = type.kind === 'type' && type.presence === 'constant';
        const presence = constant
          ? 'constant'
          : ((c.attributes['presence'] as Presence | undefined) ?? (type.kind === 'type' ? type.presence : 'required'));
        if (presence === 'constant' && !constant)
          fail(c, `expected field ${owner}.${name} with presence constant to have a constant type, found ${type.name}`);
        const size = constant ? 0 : type.kind === 'type' ? type.size : type.size;
        const offset = c.attributes['offset'] === undefined ? at : int(c, 'offset');
        out.push({ name, id: int(c, 'id', 0), type, offset, size, sinceVersion: int(c, 'sinceVersion', 0), presence });
        if (!constant) at = offset + size;
      } else if (c.name === 'group') {
        const name = c.attributes['name'] ?? fail(c, `expected a name on a group of ${owner}`);
        const dimension = resolve(c.attributes['dimensionType'] ?? 'groupSize', c);
        if (
          dimension.kind !== 'composite' ||
          !dimension.members.some((m) => m.name === 'blockLength') ||
          !dimension.members.some((m) => m.name === 'numInGroup')
        ) {
          return fail(c, `expected group ${owner}.${name}'s dimensionType to be a composite with blockLength and numInGroup`);
        }
        const inner = fields(c, `${owner}.${name}`);
        groups.push({
          name,
          id: int(c, 'id', 0),
          blockLength: int(
            c,
            'blockLength',
            inner.fields.reduce((s, f) => Math.max(s, f.offset + f.size), 0),
          ),
          dimension,
          fields: inner.fields,
          groups: inner.groups,
          sinceVersion: int(c, 'sinceVersion', 0),
        });
      } else if (c.name === 'data') {
        fail(c, `expected fields and groups in ${owner}, found <data> (variable-length data is not used by MDP3, not decoded)`);
      } else {
        fail(c, `expected <field> or <group> in ${owner}, found <${c.name}>`);
      }
    }
    return { fields: out, groups };
  }

  const messages = new Map<number, MessageDef>();
  const messagesByName = new Map<string, MessageDef>();
  for (const el of root.children) {
    if (el.name !== 'message') continue;
    const name = el.attributes['name'] ?? fail(el, 'expected a name on <message>');
    const id = int(el, 'id');
    if (messages.has(id)) fail(el, `expected template ids to be unique, found ${id} twice (${messages.get(id)!.name}, ${name})`);
    const body = fields(el, name);
    const def: MessageDef = {
      name,
      id,
      blockLength: int(
        el,
        'blockLength',
        body.fields.reduce((s, f) => Math.max(s, f.offset + f.size), 0),
      ),
      fields: body.fields,
      groups: body.groups,
      sinceVersion: int(el, 'sinceVersion', 0),
      semanticType: el.attributes['semanticType'] ?? '',
      description: el.attributes['description'] ?? '',
    };
    messages.set(id, def);
    messagesByName.set(name, def);
  }
  if (messages.size === 0) fail(root, 'expected <message> elements, found none');
  return {
    file,
    package: root.attributes['package'] ?? '',
    id: int(root, 'id'),
    version: int(root, 'version', 0),
    byteOrder,
    description: root.attributes['description'] ?? '',
    header,
    types,
    messages,
    messagesByName,
  };
}

function nameOf(el: XmlElement): string {
  const n = el.attributes['name'];
  return n === undefined ? '' : ` name="${n}"`;
}
