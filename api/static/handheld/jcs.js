// RFC 8785 (JCS) canonical JSON for the values an envelope holds: objects, arrays, strings,
// integers, booleans and null. Members are sorted by UTF-16 code units (JavaScript's own
// string order); strings and integers serialise as ECMAScript's JSON.stringify does, which
// is exactly JCS. Non-integer numbers are refused: herbtrace sends decimals as strings.

/** Return the canonical JSON text of `value`; throws on a float or an unsupported type. */
export function canonicalJson(value) {
  if (value === null || typeof value === "boolean" || typeof value === "string") {
    return JSON.stringify(value);
  }
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value)) throw new Error(`not an exact integer: ${value}`);
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (typeof value === "object") {
    const keys = Object.keys(value).filter((k) => value[k] !== undefined).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`).join(",")}}`;
  }
  throw new Error(`cannot canonicalise a ${typeof value}`);
}
