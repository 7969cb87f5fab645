// str in a pickle is UTF-8 with surrogates let through (Python's 'surrogatepass'), so a lone
// surrogate, which both Python's str and JavaScript's string can hold, crosses unchanged. The
// standard TextEncoder and TextDecoder would replace it with U+FFFD: a value silently changed.

const strict = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();

/** The string these bytes encode, surrogates included; null if they are not UTF-8. */
export function fromWtf8(bytes: Uint8Array): string | null {
  try {
    return strict.decode(bytes);
  } catch {
    return decodeWithSurrogates(bytes);
  }
}

function decodeWithSurrogates(b: Uint8Array): string | null {
  const units: number[] = [];
  let out = '';
  for (let i = 0; i < b.length;) {
    const c = b[i];
    let cp: number, n: number;
    if (c < 0x80) { cp = c; n = 1; } else if (c >= 0xc2 && c < 0xe0) { cp = c & 0x1f; n = 2; } else if (c >= 0xe0 && c < 0xf0) { cp = c & 0x0f; n = 3; } else if (c >= 0xf0 && c < 0xf5) { cp = c & 0x07; n = 4; } else return null;
    if (i + n > b.length) return null;
    for (let k = 1; k < n; k++) {
      if ((b[i + k] & 0xc0) !== 0x80) return null;
      cp = (cp << 6) | (b[i + k] & 0x3f);
    }
    if ((n === 3 && cp < 0x800) || (n === 4 && (cp < 0x10000 || cp > 0x10ffff))) return null; // overlong, or past Unicode
    if (cp > 0xffff) { cp -= 0x10000; units.push(0xd800 + (cp >> 10), 0xdc00 + (cp & 0x3ff)); } else units.push(cp);
    i += n;
    if (units.length >= 8192) { out += String.fromCharCode(...units); units.length = 0; }
  }
  return out + String.fromCharCode(...units);
}

/** The string's bytes, surrogates included (each lone one as its own three bytes). */
export function toWtf8(text: string): Uint8Array {
  if ((text as { isWellFormed?(): boolean }).isWellFormed?.() ?? !/[\ud800-\udfff]/.test(text)) return encoder.encode(text);
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    let cp = text.charCodeAt(i);
    const next = text.charCodeAt(i + 1);
    if (cp >= 0xd800 && cp < 0xdc00 && next >= 0xdc00 && next < 0xe000) { cp = 0x10000 + ((cp - 0xd800) << 10) + (next - 0xdc00); i++; }
    if (cp < 0x80) out.push(cp);
    else if (cp < 0x800) out.push(0xc0 | (cp >> 6), 0x80 | (cp & 0x3f));
    else if (cp < 0x10000) out.push(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
    else out.push(0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 0x3f), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
  }
  return Uint8Array.from(out);
}
