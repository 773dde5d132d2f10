import { Option } from '@commander-js/extra-typings';
import { ConfigError } from '../errors';

/**
 * An option whose value is checked as commander reads it, refused in the style of every
 * ferry error: `--workers "0" is invalid; accepted: a whole number from 1 to 64`.
 * `parse` returns undefined for a value it does not accept.
 */
export function checkedOption<const Flags extends string, T>(flags: Flags, description: string, accepted: string, parse: (text: string) => T | undefined) {
  const option = new Option(flags, description);
  return option.argParser((text: string): T => {
    const value = parse(text);
    if (value === undefined) throw new ConfigError(`${option.long} ${JSON.stringify(text)} is invalid; accepted: ${accepted}`);
    return value;
  });
}

/** A whole number from min to max, or undefined. */
export function wholeNumber(min: number, max: number): (text: string) => number | undefined {
  return (text) => (/^\d+$/.test(text) && Number(text) >= min && Number(text) <= max ? Number(text) : undefined);
}

/** A decimal number from min to max (such as 0.5), or undefined. */
export function decimal(min: number, max: number): (text: string) => number | undefined {
  return (text) => (/^\d+(\.\d+)?$/.test(text) && Number(text) >= min && Number(text) <= max ? Number(text) : undefined);
}
