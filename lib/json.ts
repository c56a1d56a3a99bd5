// Reading stored JSON leniently: values in etcd are written by other processes (and versions),
// so a decoder takes what it understands and treats anything else as absent, never throws.

/** `text` as a JSON object; undefined when it does not parse or is not an object (an array, null, a scalar). */
export function jsonObjectOf(text: string): Record<string, unknown> | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  return typeof v === 'object' && v !== null && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : undefined;
}
