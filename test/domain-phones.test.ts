import assert from 'node:assert/strict';
import { CALLING_CODE_PATTERN, normalisePhone, phoneToWrite, samePhone, type NormalisedPhone } from '../domain/phones';

describe('CALLING_CODE_PATTERN', () => {
  const cases: { code: string; accepted: boolean }[] = [
    { code: '+1', accepted: true },
    { code: '+44', accepted: true },
    { code: '+81', accepted: true },
    { code: '+999', accepted: true },
    { code: '81', accepted: false },
    { code: '+', accepted: false },
    { code: '+1234', accepted: false },
    { code: '+4a', accepted: false },
    { code: ' +44', accepted: false },
    { code: '+44 ', accepted: false },
    { code: '++44', accepted: false },
    { code: '', accepted: false },
  ];
  for (const { code, accepted } of cases) {
    it(`${accepted ? 'accepts' : 'rejects'} ${JSON.stringify(code)} as a default calling code`, () => {
      assert.equal(CALLING_CODE_PATTERN.test(code), accepted);
    });
  }
});

describe('normalisePhone', () => {
  const e164 = (number: string): NormalisedPhone => ({ kind: 'e164', e164: number });
  const invalid = (raw: string): NormalisedPhone => ({ kind: 'invalid', raw });
  const empty: NormalisedPhone = { kind: 'empty' };

  const cases: { raw: string | null | undefined; code: string; expected: NormalisedPhone; why: string }[] = [
    // Local formats, placed with the account's calling code.
    {
      raw: '090-1234-5678',
      code: '+81',
      expected: e164('+819012345678'),
      why: 'a Japanese mobile number in local format',
    },
    { raw: '03 1234 5678', code: '+81', expected: e164('+81312345678'), why: 'a Tokyo landline in local format' },
    { raw: '09012345678', code: '+81', expected: e164('+819012345678'), why: 'a local number without separators' },
    { raw: '090.1234.5678', code: '+81', expected: e164('+819012345678'), why: 'a local number with dots' },
    { raw: '(090) 1234-5678', code: '+81', expected: e164('+819012345678'), why: 'a local number with parentheses' },
    {
      raw: '０９０－１２３４－５６７８',
      code: '+81',
      expected: e164('+819012345678'),
      why: 'a local number typed in full-width digits',
    },
    { raw: '020 7946 0958', code: '+44', expected: e164('+442079460958'), why: 'a London number in local format' },
    {
      raw: '(020) 7946-0958',
      code: '+44',
      expected: e164('+442079460958'),
      why: 'a London number with parentheses and a dash',
    },
    { raw: '(415) 555-2671', code: '+1', expected: e164('+14155552671'), why: 'a US number in local format' },
    { raw: '415.555.2671', code: '+1', expected: e164('+14155552671'), why: 'a US number with dots' },
    { raw: '1 (415) 555-2671', code: '+1', expected: e164('+14155552671'), why: 'a US number with the trunk prefix 1' },
    { raw: '(416) 967-1111', code: '+1', expected: e164('+14169671111'), why: 'a Canadian number under +1' },
    {
      raw: '8 (495) 123-45-67',
      code: '+7',
      expected: e164('+74951234567'),
      why: 'a Russian number with the trunk prefix 8',
    },
    {
      raw: '81 90 1234 5678',
      code: '+81',
      expected: e164('+819012345678'),
      why: 'the account calling code written without the plus',
    },
    { raw: '  090-1234-5678 \t', code: '+81', expected: e164('+819012345678'), why: 'surrounding white space' },
    // International formats keep their own country whatever the account's code.
    { raw: '+819012345678', code: '+81', expected: e164('+819012345678'), why: 'a number already in E.164' },
    {
      raw: '+81 90-1234-5678',
      code: '+81',
      expected: e164('+819012345678'),
      why: 'an international number with separators',
    },
    {
      raw: '+81 (0)90 1234 5678',
      code: '+81',
      expected: e164('+819012345678'),
      why: 'an international number with the trunk zero in parentheses',
    },
    {
      raw: '+44 20 7946 0958',
      code: '+81',
      expected: e164('+442079460958'),
      why: 'a UK number under a Japanese account stays British',
    },
    {
      raw: '+1 (415) 555-2671',
      code: '+44',
      expected: e164('+14155552671'),
      why: 'a US number under a UK account stays American',
    },
    {
      raw: '+33 1 23 45 67 89',
      code: '+1',
      expected: e164('+33123456789'),
      why: 'a French number under a US account stays French',
    },
    { raw: '+800 1234 5678', code: '+81', expected: e164('+80012345678'), why: 'an international freephone number' },
    // The home country's international dialling prefix.
    {
      raw: '00 44 20 7946 0958',
      code: '+44',
      expected: e164('+442079460958'),
      why: 'the UK prefix 00 before a country code',
    },
    {
      raw: '0033 1 23 45 67 89',
      code: '+44',
      expected: e164('+33123456789'),
      why: 'the UK prefix 00 before a foreign country code',
    },
    { raw: '011 44 20 7946 0958', code: '+1', expected: e164('+442079460958'), why: 'the North American prefix 011' },
    { raw: '010 44 20 7946 0958', code: '+81', expected: e164('+442079460958'), why: 'the Japanese prefix 010' },
    // An extension cannot be expressed in E.164.
    { raw: '+1 415 555 2671 ext. 12', code: '+1', expected: e164('+14155552671'), why: 'an extension is dropped' },
    // Invalid input is kept as entered, trimmed.
    { raw: '12', code: '+81', expected: invalid('12'), why: 'too few digits' },
    { raw: 'abc', code: '+81', expected: invalid('abc'), why: 'letters only' },
    { raw: '+999 123', code: '+81', expected: invalid('+999 123'), why: 'an unassigned country code' },
    { raw: '  +999 123  ', code: '+81', expected: invalid('+999 123'), why: 'invalid input is trimmed' },
    {
      raw: '090-1234-567',
      code: '+81',
      expected: invalid('090-1234-567'),
      why: 'a Japanese mobile number one digit short',
    },
    {
      raw: '090-1234-56789',
      code: '+81',
      expected: invalid('090-1234-56789'),
      why: 'a Japanese mobile number one digit long',
    },
    {
      raw: '+81 0000 0000',
      code: '+81',
      expected: invalid('+81 0000 0000'),
      why: 'digits of a plausible length outside any number range',
    },
    {
      raw: '0044 20 7946 0958',
      code: '+81',
      expected: invalid('0044 20 7946 0958'),
      why: 'a dialling prefix that is not the home country’s',
    },
    {
      raw: 'Tel: 090-1234-5678',
      code: '+81',
      expected: invalid('Tel: 090-1234-5678'),
      why: 'a number inside other text',
    },
    {
      raw: '090-1234-5678 (mobile)',
      code: '+81',
      expected: invalid('090-1234-5678 (mobile)'),
      why: 'a number followed by a remark',
    },
    { raw: '+', code: '+81', expected: invalid('+'), why: 'a lone plus sign' },
    { raw: '++81 90 1234 5678', code: '+81', expected: invalid('++81 90 1234 5678'), why: 'a doubled plus sign' },
    { raw: '-', code: '+81', expected: invalid('-'), why: 'punctuation only' },
    // Empty input.
    { raw: '', code: '+81', expected: empty, why: 'an empty text' },
    { raw: '   \t\n', code: '+81', expected: empty, why: 'white space only' },
    { raw: '\u3000', code: '+81', expected: empty, why: 'an ideographic space only' },
    { raw: null, code: '+81', expected: empty, why: 'null' },
    { raw: undefined, code: '+81', expected: empty, why: 'a missing phone' },
    // A calling code no country uses (settings validation should prevent it) never throws.
    {
      raw: '+44 20 7946 0958',
      code: '+999',
      expected: e164('+442079460958'),
      why: 'an international number under an unassigned calling code',
    },
    {
      raw: '020 7946 0958',
      code: '+999',
      expected: invalid('020 7946 0958'),
      why: 'a local number under an unassigned calling code',
    },
    {
      raw: '020 7946 0958',
      code: '44',
      expected: invalid('020 7946 0958'),
      why: 'a local number under a calling code without the plus',
    },
  ];
  for (const { raw, code, expected, why } of cases) {
    it(`normalises ${why}: ${JSON.stringify(raw)} with ${code} → ${JSON.stringify(expected)}`, () => {
      assert.deepEqual(normalisePhone(raw, code), expected);
    });
  }
});

describe('samePhone', () => {
  const cases: {
    a: string | null | undefined;
    b: string | null | undefined;
    code: string;
    expected: boolean;
    why: string;
  }[] = [
    {
      a: '090-1234-5678',
      b: '+819012345678',
      code: '+81',
      expected: true,
      why: 'a local and an E.164 number for the same phone are the same',
    },
    {
      a: '090-1234-5678',
      b: '+81 90 1234 5678',
      code: '+81',
      expected: true,
      why: 'local and spaced international formats are the same',
    },
    {
      a: '(415) 555-2671',
      b: '+1 415.555.2671',
      code: '+1',
      expected: true,
      why: 'US formats with different punctuation are the same',
    },
    {
      a: '020 7946 0958',
      b: '00 44 20 7946 0958',
      code: '+44',
      expected: true,
      why: 'a UK local number and its 00-prefixed form are the same',
    },
    {
      a: '+44 20 7946 0958',
      b: '+442079460958',
      code: '+81',
      expected: true,
      why: 'two UK numbers under a Japanese account are the same',
    },
    {
      a: '+1 415 555 2671 ext. 12',
      b: '+14155552671',
      code: '+1',
      expected: true,
      why: 'a number with an extension is the same as the number without it',
    },
    { a: '090-1234-5678', b: '090-1234-5679', code: '+81', expected: false, why: 'different numbers differ' },
    {
      a: '020 7946 0958',
      b: '+81 20 7946 0958',
      code: '+44',
      expected: false,
      why: 'the same digits in another country differ',
    },
    { a: '', b: null, code: '+81', expected: true, why: 'empty and null are both empty' },
    { a: '  ', b: undefined, code: '+81', expected: true, why: 'blank and missing are both empty' },
    { a: '', b: '090-1234-5678', code: '+81', expected: false, why: 'an empty phone differs from a number' },
    { a: 'abc', b: ' abc ', code: '+81', expected: true, why: 'the same invalid text, trimmed, is the same' },
    { a: 'abc', b: 'ABC', code: '+81', expected: false, why: 'different invalid texts differ' },
    { a: '12', b: '', code: '+81', expected: false, why: 'an invalid text differs from an empty phone' },
    {
      a: '090-1234-567',
      b: '+81901234567',
      code: '+81',
      expected: false,
      why: 'two spellings of the same invalid digits differ, as neither can be normalised',
    },
  ];
  for (const { a, b, code, expected, why } of cases) {
    it(`${why}: ${JSON.stringify(a)} vs ${JSON.stringify(b)} with ${code}`, () => {
      assert.equal(samePhone(a, b, code), expected);
      assert.equal(samePhone(b, a, code), expected, 'the comparison is symmetric');
    });
  }
});

describe('phoneToWrite', () => {
  const cases: { raw: string | null | undefined; code: string; expected: string | null; why: string }[] = [
    { raw: '090-1234-5678', code: '+81', expected: '+819012345678', why: 'a valid local number is written in E.164' },
    {
      raw: '+44 20 7946 0958',
      code: '+81',
      expected: '+442079460958',
      why: 'a valid foreign number is written in E.164',
    },
    { raw: '(415) 555-2671', code: '+1', expected: '+14155552671', why: 'a valid US number is written in E.164' },
    { raw: '12', code: '+81', expected: null, why: 'an invalid number is never written' },
    { raw: 'abc', code: '+81', expected: null, why: 'text that is not a number is never written' },
    { raw: '+999 123', code: '+81', expected: null, why: 'a number with an unassigned country code is never written' },
    { raw: '', code: '+81', expected: null, why: 'an empty phone writes nothing' },
    { raw: '  ', code: '+81', expected: null, why: 'a blank phone writes nothing' },
    { raw: null, code: '+81', expected: null, why: 'a null phone writes nothing' },
    { raw: undefined, code: '+81', expected: null, why: 'a missing phone writes nothing' },
  ];
  for (const { raw, code, expected, why } of cases) {
    it(`${why}: ${JSON.stringify(raw)} with ${code} → ${JSON.stringify(expected)}`, () => {
      assert.equal(phoneToWrite(raw, code), expected);
    });
  }

  const writtenAndReadBack: { raw: string; code: string }[] = [
    { raw: '090-1234-5678', code: '+81' },
    { raw: '020 7946 0958', code: '+44' },
    { raw: '(415) 555-2671', code: '+1' },
    { raw: '+44 20 7946 0958', code: '+81' },
  ];
  for (const { raw, code } of writtenAndReadBack) {
    it(`the number written for ${JSON.stringify(raw)} with ${code}, read back from the other side, is the same phone and causes no further write`, () => {
      const written = phoneToWrite(raw, code);
      assert.ok(written);
      assert.equal(samePhone(raw, written, code), true);
      assert.equal(phoneToWrite(written, code), written);
    });
  }
});
