/**
 * The generic validators of k8s.io/apimachinery/pkg/util/validation and
 * pkg/api/validation/objectmeta.go, with their messages verbatim (including the double
 * space in "(e.g. 'my-name',  or '123-abc', ...)", which is what the real server prints).
 */
import { isIP } from 'node:net';
import { type FieldError, field, go } from './errors';
import type { ObjectMeta } from './json';

function regexError(msg: string, fmt: string, ...examples: string[]): string {
  if (examples.length === 0) return `${msg} (regex used for validation is '${fmt}')`;
  return `${msg} (e.g. ${examples.map((e) => `'${e}', `).join(' or ')}regex used for validation is '${fmt}')`;
}

const maxLen = (n: number) => `must be no more than ${n} characters`;

const dns1123LabelFmt = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const dns1123SubdomainFmt = `${dns1123LabelFmt}(\\.${dns1123LabelFmt})*`;
const dns1035LabelFmt = '[a-z]([-a-z0-9]*[a-z0-9])?';
const qualifiedNameFmt = '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]';
const full = (fmt: string) => new RegExp(`^${fmt}$`);

export function dns1123Label(value: string): string[] {
  const errs: string[] = [];
  if (value.length > 63) errs.push(maxLen(63));
  if (!full(dns1123LabelFmt).test(value)) {
    errs.push(regexError("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character", dns1123LabelFmt, 'my-name', '123-abc'));
  }
  return errs;
}

export function dns1123Subdomain(value: string): string[] {
  const errs: string[] = [];
  if (value.length > 253) errs.push(maxLen(253));
  if (!full(dns1123SubdomainFmt).test(value)) {
    errs.push(regexError("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character", dns1123SubdomainFmt, 'example.com'));
  }
  return errs;
}

export function dns1035Label(value: string): string[] {
  const errs: string[] = [];
  if (value.length > 63) errs.push(maxLen(63));
  if (!full(dns1035LabelFmt).test(value)) {
    errs.push(regexError("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character", dns1035LabelFmt, 'my-name', 'abc-123'));
  }
  return errs;
}

const qualifiedNameMsg = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";

export function qualifiedName(value: string): string[] {
  const errs: string[] = [];
  const parts = value.split('/');
  let name: string;
  if (parts.length === 1) {
    name = parts[0] ?? '';
  } else if (parts.length === 2) {
    const prefix = parts[0] ?? '';
    name = parts[1] ?? '';
    if (prefix.length === 0) errs.push('prefix part must be non-empty');
    else errs.push(...dns1123Subdomain(prefix).map((m) => `prefix part ${m}`));
  } else {
    return [`a qualified name ${regexError(qualifiedNameMsg, qualifiedNameFmt, 'MyName', 'my.name', '123-abc')} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`];
  }
  if (name.length === 0) errs.push('name part must be non-empty');
  else if (name.length > 63) errs.push(`name part ${maxLen(63)}`);
  if (!full(qualifiedNameFmt).test(name)) errs.push(`name part ${regexError(qualifiedNameMsg, qualifiedNameFmt, 'MyName', 'my.name', '123-abc')}`);
  return errs;
}

export function labelValue(value: string): string[] {
  const errs: string[] = [];
  if (value.length > 63) errs.push(maxLen(63));
  if (!full(`(${qualifiedNameFmt})?`).test(value)) {
    errs.push(regexError("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character", `(${qualifiedNameFmt})?`, 'MyValue', 'my_value', '12345'));
  }
  return errs;
}

export function validPortNum(port: number): string[] {
  return Number.isInteger(port) && port >= 1 && port <= 65535 ? [] : ['must be between 1 and 65535, inclusive'];
}

/** validation.IsValidPortName (IANA_SVC_NAME). */
export function validPortName(name: string): string[] {
  const errs: string[] = [];
  if (name.length < 1 || name.length > 15) errs.push('must be no more than 15 characters');
  if (!/^[-a-z0-9]+$/.test(name)) errs.push('must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)');
  if (!/[a-z]/.test(name)) errs.push('must contain at least one letter (a-z)');
  if (name.includes('--')) errs.push('must not contain consecutive hyphens');
  if (name.startsWith('-') || name.endsWith('-')) errs.push('must not begin or end with a hyphen');
  return errs;
}

export function ipErrors(path: string, value: string): FieldError[] {
  return isIP(value) ? [] : [field.invalid(path, go.str(value), 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)')];
}

export function cidrErrors(path: string, value: string): FieldError[] {
  const [ip, bits, ...rest] = value.split('/');
  const family = isIP(ip ?? '');
  const n = Number(bits);
  const ok = rest.length === 0 && family !== 0 && bits !== undefined && /^\d+$/.test(bits) && n <= (family === 4 ? 32 : 128);
  return ok ? [] : [field.invalid(path, go.str(value), 'must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)')];
}

export type NameValidator = (name: string) => string[];

/** ValidateObjectMeta for a name validator; `prefix` handling follows NameIsDNS*(name, prefix=true). */
export function validateObjectMeta(meta: ObjectMeta, nameValidator: NameValidator): FieldError[] {
  const errs: FieldError[] = [];
  if (meta.generateName) {
    for (const msg of nameValidator(meta.generateName.replace(/-$/, 'a'))) errs.push(field.invalid('metadata.generateName', go.str(meta.generateName), msg));
  }
  if (!meta.name) {
    errs.push(field.required('metadata.name', 'name or generateName is required'));
  } else {
    for (const msg of nameValidator(meta.name)) errs.push(field.invalid('metadata.name', go.str(meta.name), msg));
  }
  for (const [key, value] of Object.entries(meta.labels ?? {})) {
    for (const msg of qualifiedName(key)) errs.push(field.invalid('metadata.labels', go.str(key), msg));
    for (const msg of labelValue(value)) errs.push(field.invalid('metadata.labels', go.str(value), msg));
  }
  let annotationBytes = 0;
  for (const [key, value] of Object.entries(meta.annotations ?? {})) {
    for (const msg of qualifiedName(key.toLowerCase())) errs.push(field.invalid('metadata.annotations', go.str(key), msg));
    annotationBytes += Buffer.byteLength(key) + Buffer.byteLength(value);
  }
  if (annotationBytes > 256 * 1024) errs.push(field.tooLong('metadata.annotations', 256 * 1024));
  errs.push(...validateFinalizers(meta.finalizers ?? []));
  return errs;
}

const standardFinalizers = new Set(['kubernetes', 'orphan', 'foregroundDeletion']);

function validateFinalizers(finalizers: readonly string[]): FieldError[] {
  const errs: FieldError[] = [];
  for (const f of finalizers) {
    for (const msg of qualifiedName(f)) errs.push(field.invalid('metadata.finalizers', go.str(f), msg));
    if (!f.includes('/') && !standardFinalizers.has(f)) {
      errs.push(field.invalid('metadata.finalizers', go.str(f), 'name is neither a standard finalizer name nor is it fully qualified'));
    }
  }
  if (finalizers.includes('orphan') && finalizers.includes('foregroundDeletion')) {
    errs.push(field.invalid('metadata.finalizers', go.strings(finalizers), 'finalizer orphan and foregroundDeletion cannot be both set'));
  }
  return errs;
}

/** ValidateObjectMetaUpdate: identity fields are immutable; no new finalizers while deleting. */
export function validateObjectMetaUpdate(next: ObjectMeta, prev: ObjectMeta): FieldError[] {
  const errs: FieldError[] = [];
  if (prev.deletionTimestamp) {
    const before = new Set(prev.finalizers ?? []);
    const extra = [...new Set(next.finalizers ?? [])].filter((f) => !before.has(f)).sort();
    if (extra.length > 0) {
      errs.push(field.forbidden('metadata.finalizers', `no new finalizers can be added if the object is being deleted, found new finalizers ${go.strings(extra)}`));
    }
  }
  for (const key of ['name', 'namespace', 'uid'] as const) {
    if ((next[key] ?? '') !== (prev[key] ?? '')) errs.push(field.immutable(`metadata.${key}`, go.str(next[key] ?? '')));
  }
  return errs;
}
