/**
 * Phone numbers are compared and written in E.164 so that "090-1234-5678" in one system and
 * "+81 90 1234 5678" in the other count as the same number and cause no write.
 */
import {
  parsePhoneNumberFromString,
  type CountryCode,
  type MetadataJson,
  type PhoneNumber,
} from 'libphonenumber-js/core';
// The "max" metadata carries each country's number-range patterns, so `isValid()` rejects numbers
// that merely have a plausible length (a mistyped mobile number, "+81 0000 0000"); with the default
// "min" set those would be written to the other system as if real. The price is keeping the
// package current, since ranges allocated after its release are reported as invalid.
import maxMetadata from 'libphonenumber-js/max/metadata';

// The package declares no types for the JSON when it is required from CommonJS, so TypeScript
// infers plain strings where the library expects country codes.
const metadata = maxMetadata as MetadataJson;

/** `+` followed by 1-3 digits, e.g. "+1", "+44", "+81". */
export const CALLING_CODE_PATTERN = /^\+[0-9]{1,3}$/;

export type NormalisedPhone = { kind: 'empty' } | { kind: 'e164'; e164: string } | { kind: 'invalid'; raw: string };

/** Normalises a phone entered in local or international format to E.164, using the account's default calling code (e.g. "+81") for local numbers. */
export function normalisePhone(raw: string | null | undefined, defaultCallingCode: string): NormalisedPhone {
  const entered = (raw ?? '').trim();
  if (entered === '') return { kind: 'empty' };
  const parsed = parseEnteredPhone(entered, defaultCallingCode);
  // An extension has no place in E.164, so only the number it belongs to is kept.
  return parsed?.isValid() ? { kind: 'e164', e164: parsed.number } : { kind: 'invalid', raw: entered };
}

/** True when both normalise to the same E.164 number, or both are empty, or both are the same invalid text (trimmed). */
export function samePhone(
  a: string | null | undefined,
  b: string | null | undefined,
  defaultCallingCode: string,
): boolean {
  const first = normalisePhone(a, defaultCallingCode);
  const second = normalisePhone(b, defaultCallingCode);
  switch (first.kind) {
    case 'empty':
      return second.kind === 'empty';
    case 'e164':
      return second.kind === 'e164' && second.e164 === first.e164;
    case 'invalid':
      return second.kind === 'invalid' && second.raw === first.raw;
  }
}

/** The value to write on the other side: the E.164 form, or null when the phone is empty or invalid (invalid numbers are never written). */
export function phoneToWrite(raw: string | null | undefined, defaultCallingCode: string): string | null {
  const phone = normalisePhone(raw, defaultCallingCode);
  return phone.kind === 'e164' ? phone.e164 : null;
}

function parseEnteredPhone(entered: string, defaultCallingCode: string): PhoneNumber | undefined {
  // Text such as "Tel: 090… (mobile)" is not a clean number: it stays as entered instead of being
  // reduced to the digits the parser would otherwise pick out of it.
  const strict = { extract: false } as const;
  const callingCode = CALLING_CODE_PATTERN.test(defaultCallingCode) ? defaultCallingCode.slice(1) : null;
  if (callingCode === null) return parsePhoneNumberFromString(entered, strict, metadata);

  // A default country, unlike a bare calling code, also lets the parser strip that country's
  // international dialling prefix ("00 33 …" in the UK, "010 44 …" in Japan).
  const homeCountry = homeCountryOf(callingCode);
  if (homeCountry !== undefined) {
    return parsePhoneNumberFromString(entered, { ...strict, defaultCountry: homeCountry }, metadata);
  }
  if (callingCode in metadata.nonGeographic) {
    return parsePhoneNumberFromString(entered, { ...strict, defaultCallingCode: callingCode }, metadata);
  }
  // A calling code no country uses cannot place a local number; international ones still parse.
  return parsePhoneNumberFromString(entered, strict, metadata);
}

/** The country libphonenumber treats as the main one for a shared calling code (US for +1, RU for +7, GB for +44). */
function homeCountryOf(callingCode: string): CountryCode | undefined {
  const countries: readonly CountryCode[] | undefined = metadata.country_calling_codes[callingCode];
  return countries?.[0];
}
