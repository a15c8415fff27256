import { invalidArgument } from "./errors.js";

const maxIdentifierLength = 76;
const identifierPattern = /^[A-Za-z0-9]+(?:[._-](?:[A-Za-z0-9]+))*$/;

/**
 * Checks an identifier (namespace, container id, exec id, topic component) by containerd's rules:
 * runs of letters and digits joined by single `.`, `_` or `-`, 1 to 76 characters.
 * Throws InvalidArgument naming `what` (the field, e.g. "namespace") and the offending value.
 */
export function validateIdentifier(value: string, what = "identifier"): void {
  // containerd's texts, prefixed with the field so that the message says which input was wrong.
  if (value.length === 0) throw invalidArgument(`${what}: identifier must not be empty`);
  if (value.length > maxIdentifierLength) {
    throw invalidArgument(`${what}: identifier ${JSON.stringify(value)} greater than maximum length (${maxIdentifierLength} characters)`);
  }
  if (!identifierPattern.test(value)) {
    throw invalidArgument(`${what}: identifier ${JSON.stringify(value)} must match ${identifierPattern.source}`);
  }
}

export function isValidIdentifier(value: string): boolean {
  return value.length > 0 && value.length <= maxIdentifierLength && identifierPattern.test(value);
}
