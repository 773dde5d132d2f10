/**
 * A tiny XML writer for AWS query responses. Values are plain JS trees: objects become
 * elements named by their keys, arrays become a wrapper element whose children are
 * `<member>` (ELBv2, awsQuery) or `<item>` (EC2, ec2Query), undefined/null are left
 * out (AWS omits absent members rather than sending empty ones).
 */
export type XmlValue =
  | string
  | number
  | boolean
  | Date
  | null
  | undefined
  | readonly XmlValue[]
  | { readonly [key: string]: XmlValue };

export type ListItemTag = 'member' | 'item';

// XML 1.0 cannot carry most C0 control characters even escaped; AWS itself never
// returns them, so replace rather than emit a document the SDK's parser rejects.
const INVALID_XML_CHARS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g;

export function escapeXml(text: string): string {
  return text
    .replace(INVALID_XML_CHARS, '\uFFFD')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;')
    .replace(/\r/g, '&#xD;');
}

function scalar(value: string | number | boolean | Date): string {
  if (value instanceof Date) return value.toISOString();
  return escapeXml(String(value));
}

export function element(name: string, value: XmlValue, itemTag: ListItemTag): string {
  if (value === undefined || value === null) return '';
  return `<${name}>${content(value, itemTag)}</${name}>`;
}

function content(value: Exclude<XmlValue, null | undefined>, itemTag: ListItemTag): string {
  if (Array.isArray(value)) {
    return (value as readonly XmlValue[]).map((item) => element(itemTag, item, itemTag)).join('');
  }
  if (typeof value === 'object' && !(value instanceof Date)) return children(value as { readonly [key: string]: XmlValue }, itemTag);
  return scalar(value as string | number | boolean | Date);
}

/** The elements for each member of `fields`, in key order. */
export function children(fields: { readonly [key: string]: XmlValue }, itemTag: ListItemTag): string {
  let out = '';
  for (const [key, value] of Object.entries(fields)) out += element(key, value, itemTag);
  return out;
}

export const XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n';
