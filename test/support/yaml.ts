// A reader for the YAML subset deploy/*.yaml use: block mappings and sequences by
// indentation, `#` comments, plain and quoted scalars, flow sequences of scalars
// (`["a", "b"]`), true/false/numbers. Anything else (anchors, multi-line strings, flow
// mappings) throws, so a manifest cannot silently mean something else than read.
export type Value = string | number | boolean | null | Value[] | { [key: string]: Value };

interface Line { indent: number; text: string; no: number }

function scalar(raw: string, no: number): Value {
  const s = raw.trim();
  if (s === '' || s === '~' || s === 'null') return null;
  if (s === 'true' || s === 'false') return s === 'true';
  if (/^-?\d+(\.\d+)?$/.test(s)) return Number(s);
  if (/^"([^"\\]|\\.)*"$/.test(s)) return JSON.parse(s) as string;
  if (/^'[^']*'$/.test(s)) return s.slice(1, -1);
  if (s.startsWith('[') && s.endsWith(']')) {
    const inner = s.slice(1, -1).trim();
    return inner ? inner.split(',').map((x) => scalar(x, no)) : [];
  }
  if (/^[&*!|>{]/.test(s)) throw new Error(`yaml line ${no}: unsupported syntax: ${s}`);
  return s;
}

function stripComment(text: string): string {
  let quote: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) { if (c === quote) quote = null; continue; }
    if (c === '"' || c === "'") quote = c;
    else if (c === '#' && (i === 0 || /\s/.test(text[i - 1]))) return text.slice(0, i);
  }
  return text;
}

function block(lines: Line[], at: { i: number }, indent: number): Value {
  const first = lines[at.i];
  if (first.text.startsWith('- ') || first.text === '-') {
    const list: Value[] = [];
    while (at.i < lines.length && lines[at.i].indent === indent && (lines[at.i].text.startsWith('- ') || lines[at.i].text === '-')) {
      const line = lines[at.i];
      const rest = line.text.slice(1).trimStart();
      if (rest === '') { at.i++; list.push(block(lines, at, lines[at.i].indent)); continue; }
      // "- key: value" starts a mapping whose further keys sit at the item's content column
      lines[at.i] = { indent: indent + line.text.length - rest.length, text: rest, no: line.no };
      if (/^[^"'[][^:]*:( |$)/.test(rest)) list.push(block(lines, at, lines[at.i].indent));
      else { list.push(scalar(rest, line.no)); at.i++; }
    }
    return list;
  }
  const map: Record<string, Value> = {};
  while (at.i < lines.length && lines[at.i].indent === indent) {
    const { text, no } = lines[at.i];
    const m = /^([^:]+):(?: (.*))?$/.exec(text);
    if (!m) throw new Error(`yaml line ${no}: expected "key: value", got ${text}`);
    at.i++;
    const key = m[1].trim();
    if (m[2] !== undefined && m[2].trim() !== '') map[key] = scalar(m[2], no);
    else if (at.i < lines.length && lines[at.i].indent > indent) map[key] = block(lines, at, lines[at.i].indent);
    else if (at.i < lines.length && lines[at.i].indent === indent && lines[at.i].text.startsWith('- ')) map[key] = block(lines, at, indent);
    else map[key] = null;
  }
  return map;
}

/** Parses one YAML document of the subset described above. */
export function parseYaml(source: string): Value {
  const lines: Line[] = [];
  source.split('\n').forEach((raw, i) => {
    if (raw.includes('\t')) throw new Error(`yaml line ${i + 1}: tab`);
    const text = stripComment(raw).trimEnd();
    if (text.trim() === '' || text.trim() === '---') return;
    lines.push({ indent: text.length - text.trimStart().length, text: text.trim(), no: i + 1 });
  });
  const at = { i: 0 };
  const value = block(lines, at, lines[0]?.indent ?? 0);
  if (at.i !== lines.length) throw new Error(`yaml line ${lines[at.i].no}: unexpected indentation`);
  return value;
}
