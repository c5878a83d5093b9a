import { MdcapError } from '@mdcap/core';

/**
 * Just enough XML for SBE schemas: elements, attributes, text, comments, processing instructions
 * and CDATA, with the five named entities and character references. No DTDs, no namespaces
 * beyond dropping a prefix (`ns2:message` is `message`): an SBE schema needs neither, and a
 * parser of our own can say which line of which file is wrong.
 */
export interface XmlElement {
  /** The local name (a namespace prefix dropped). */
  readonly name: string;
  readonly attributes: Readonly<Record<string, string>>;
  readonly children: XmlElement[];
  /** The text directly inside the element, entities resolved, trimmed. */
  text: string;
  /** 1-based line of the element's start tag. */
  readonly line: number;
}

const ENTITIES: Readonly<Record<string, string>> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function decodeEntities(s: string, fail: (what: string) => never): string {
  if (!s.includes('&')) return s;
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-zA-Z]+);?/g, (m: string, body: string) => {
    if (!m.endsWith(';')) fail(`expected ";" to end the reference ${m}`);
    if (body.startsWith('#x')) return String.fromCodePoint(parseInt(body.slice(2), 16));
    if (body.startsWith('#')) return String.fromCodePoint(parseInt(body.slice(1), 10));
    const v = ENTITIES[body];
    if (v === undefined) fail(`expected one of the entities &lt; &gt; &amp; &quot; &apos;, found &${body};`);
    return v;
  });
}

const localName = (qname: string): string => qname.slice(qname.indexOf(':') + 1);

/**
 * Parses a whole document into its root element.
 * @throws {MdcapError} `MDCAP_ERR_SBE_SCHEMA` naming `file` and the line of the first thing that is not XML.
 */
export function parseXml(text: string, file: string): XmlElement {
  let i = 0;
  let line = 1;
  const fail: (what: string) => never = (what) => {
    throw new MdcapError('MDCAP_ERR_SBE_SCHEMA', `${file}:${line}: not XML: ${what}`);
  };
  const advanceTo = (j: number): void => {
    for (let k = i; k < j; k++) if (text.charCodeAt(k) === 10) line++;
    i = j;
  };
  const skipPast = (end: string, what: string): void => {
    const j = text.indexOf(end, i);
    if (j < 0) fail(`expected ${end} to close ${what}, found the end of the file`);
    advanceTo(j + end.length);
  };
  const stack: XmlElement[] = [];
  let root: XmlElement | null = null;
  if (text.charCodeAt(0) === 0xfeff) i = 1;
  while (i < text.length) {
    const lt = text.indexOf('<', i);
    const chunk = text.slice(i, lt < 0 ? text.length : lt);
    if (chunk.trim() !== '') {
      const top = stack[stack.length - 1];
      if (top === undefined) fail(`expected markup, found text ${JSON.stringify(chunk.trim().slice(0, 40))}`);
      top.text += decodeEntities(chunk, fail);
    }
    if (lt < 0) {
      advanceTo(text.length);
      break;
    }
    advanceTo(lt);
    if (text.startsWith('<!--', i)) {
      skipPast('-->', 'a comment');
      continue;
    }
    if (text.startsWith('<?', i)) {
      skipPast('?>', 'a processing instruction');
      continue;
    }
    if (text.startsWith('<![CDATA[', i)) {
      const start = i + 9;
      skipPast(']]>', 'a CDATA section');
      const top = stack[stack.length - 1];
      if (top === undefined) fail('expected markup, found a CDATA section outside the root element');
      top.text += text.slice(start, i - 3);
      continue;
    }
    if (text.startsWith('<!', i)) fail('expected no DTD or declaration (an SBE schema has none), found <!');
    if (text.startsWith('</', i)) {
      const m = /^<\/([A-Za-z_][\w.:-]*)\s*>/.exec(text.slice(i, i + 200));
      if (m === null) fail('expected a well-formed end tag');
      const open = stack.pop();
      if (open === undefined || open.name !== localName(m[1]!)) {
        fail(`expected </${open?.name ?? '(nothing open)'}>, found </${m[1]!}>`);
      }
      open.text = open.text.trim();
      advanceTo(i + m[0].length);
      continue;
    }
    const tag = /^<([A-Za-z_][\w.:-]*)/.exec(text.slice(i, i + 200));
    if (tag === null) fail(`expected a tag name after "<", found ${JSON.stringify(text.slice(i, i + 20))}`);
    const startLine = line;
    advanceTo(i + tag[0].length);
    const attributes: Record<string, string> = {};
    for (;;) {
      const a = /^\s*([A-Za-z_][\w.:-]*)\s*=\s*("([^"]*)"|'([^']*)')/.exec(text.slice(i, i + 4096));
      if (a === null) break;
      attributes[localName(a[1]!)] = decodeEntities(a[3] ?? a[4] ?? '', fail);
      advanceTo(i + a[0].length);
    }
    const close = /^\s*(\/?)>/.exec(text.slice(i, i + 64));
    if (close === null) fail(`expected ">" or "/>" to end <${tag[1]!}>, found ${JSON.stringify(text.slice(i, i + 20))}`);
    advanceTo(i + close[0].length);
    const el: XmlElement = { name: localName(tag[1]!), attributes, children: [], text: '', line: startLine };
    const parent = stack[stack.length - 1];
    if (parent !== undefined) parent.children.push(el);
    else if (root === null) root = el;
    else fail(`expected one root element, found a second, <${tag[1]!}>`);
    if (close[1] !== '/') stack.push(el);
  }
  if (stack.length > 0) fail(`expected </${stack[stack.length - 1]!.name}>, found the end of the file`);
  if (root === null) fail('expected a root element, found none');
  return root;
}
