// The syntax of what a runtime names in a CNI call — container ID, interface name, netns path —
// checked the same way by the shim (before it dials the agent) and by the agent's CNI server
// (which does not trust its socket's other clients to have done so). Pure, no imports: the
// shim's bundle carries it.
//
// Interface names and netns paths end up inside `ip -batch` lines and `nsenter --net=<path>`
// arguments, where whitespace separates words, a newline starts a new command, `#` starts a
// comment and quotes group words. So beyond what the CNI spec forbids, netloom accepts only
// characters those parsers leave alone: a name or path that could change the command it is
// part of is refused here, not escaped later.

/** Container IDs per the CNI spec: alphanumeric first, then alphanumerics, `_`, `.`, `-`. */
const CONTAINER_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** Linux's IFNAMSIZ less the terminating NUL. */
export const MAX_IFNAME_LENGTH = 15;
/** What netloom carries in an interface name (the spec's rules come on top). */
const IFNAME_CHARS = /^[A-Za-z0-9_.-]*$/;

/** Linux's PATH_MAX less the terminating NUL. */
export const MAX_NETNS_PATH_LENGTH = 4095;
/** What netloom carries in a netns path: no whitespace, control, quote, `#`, `\` or shell characters. */
const NETNS_PATH_CHARS = /^[A-Za-z0-9_.@:+=,~%/-]*$/;

const quoted = (s: string): string => JSON.stringify(s);

/** Why `id` is not a container ID, or undefined when it is one. */
export function containerIdProblem(id: string): string | undefined {
  if (id === '') return 'container ID is empty';
  if (!CONTAINER_ID.test(id))
    return `container ID ${quoted(id)} must start with a letter or digit and hold only letters, digits, '_', '.', '-'`;
  return undefined;
}

/**
 * Why `name` is not an interface name netloom can create, or undefined when it is one. The
 * spec's rules: 1-15 characters, not "." or "..", no '/', ':' or whitespace; netloom's: only
 * letters, digits, '_', '.', '-' (see the top of this file).
 */
export function ifnameProblem(name: string): string | undefined {
  if (name === '') return 'interface name is empty';
  if (name.length > MAX_IFNAME_LENGTH)
    return `interface name ${quoted(name)} is longer than ${MAX_IFNAME_LENGTH} characters`;
  if (name === '.' || name === '..') return `interface name ${quoted(name)} is not a name`;
  if (!IFNAME_CHARS.test(name))
    return `interface name ${quoted(name)} may hold only letters, digits, '_', '.', '-'`;
  return undefined;
}

/**
 * Why `path` cannot be a network namespace path, or undefined when its syntax is fine: an
 * absolute path of at most 4095 characters from a narrow set (see the top of this file), with
 * no "." or ".." components (a runtime never sends them; a path that climbs is not the one it
 * looks like). Whether it names a network namespace is the agent's check (netns-path.ts).
 */
export function netnsPathProblem(path: string): string | undefined {
  if (path === '') return 'netns path is empty';
  if (!path.startsWith('/')) return `netns path ${quoted(path)} is not absolute`;
  if (path.length > MAX_NETNS_PATH_LENGTH)
    return `netns path is longer than ${MAX_NETNS_PATH_LENGTH} characters`;
  if (!NETNS_PATH_CHARS.test(path))
    return `netns path ${quoted(path)} holds characters other than letters, digits and _.@:+=,~%/-`;
  if (path.split('/').some((part) => part === '.' || part === '..'))
    return `netns path ${quoted(path)} has a "." or ".." component`;
  return undefined;
}
