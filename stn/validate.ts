// Request validation before anything touches the kernel. Interface names end up in `ip -batch`
// lines and sysfs paths, so only the characters kernel names commonly use are accepted.
import { InvalidInterfaceError } from './errors.ts';

/** IFNAMSIZ is 16 bytes including the terminating NUL. */
const MAX_NAME = 15;
const NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

export function validateInterfaceName(name: string): string {
  if (name === '') throw new InvalidInterfaceError('interface name is empty');
  if (name.length > MAX_NAME) {
    throw new InvalidInterfaceError(
      `interface name ${JSON.stringify(name)} is longer than ${MAX_NAME} characters`,
    );
  }
  if (!NAME.test(name)) {
    throw new InvalidInterfaceError(
      `interface name ${JSON.stringify(name)} has characters other than letters, digits, '_', '.', '-'`,
    );
  }
  if (name === 'lo') throw new InvalidInterfaceError('the loopback interface cannot be stolen');
  return name;
}
