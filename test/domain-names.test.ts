import assert from 'node:assert/strict';
import {
  NAME_FORMATS,
  UNKNOWN_LAST_NAME,
  formatZendeskName,
  namesAgree,
  normaliseWhitespace,
  splitZendeskName,
  type NameFormat,
  type PersonName,
} from '../domain/names';

type StoreganiseName = { firstName?: string | null; lastName?: string | null };

describe('normaliseWhitespace', () => {
  const cases: { text: string; expected: string; why: string }[] = [
    { text: 'Taro Yamada', expected: 'Taro Yamada', why: 'leaves single spaces alone' },
    { text: '  Taro   Yamada ', expected: 'Taro Yamada', why: 'trims and collapses runs of spaces' },
    { text: '山田\u3000太郎', expected: '山田 太郎', why: 'turns an ideographic space into an ASCII space' },
    { text: '\u3000山田\u3000\u3000太郎\u3000', expected: '山田 太郎', why: 'trims and collapses ideographic spaces' },
    { text: 'Taro\tYamada', expected: 'Taro Yamada', why: 'turns a tab into a space' },
    { text: 'Taro\r\nYamada\n', expected: 'Taro Yamada', why: 'turns line breaks into a space' },
    { text: 'Taro\u00a0Yamada', expected: 'Taro Yamada', why: 'turns a no-break space into a space' },
    { text: 'Taro \t\u00a0\u3000 Yamada', expected: 'Taro Yamada', why: 'collapses a run of mixed white space' },
    { text: '', expected: '', why: 'keeps an empty text empty' },
    { text: ' \t\u3000\n ', expected: '', why: 'reduces white space only to an empty text' },
  ];
  for (const { text, expected, why } of cases) {
    it(`${why}: ${JSON.stringify(text)} → ${JSON.stringify(expected)}`, () => {
      assert.equal(normaliseWhitespace(text), expected);
    });
  }
});

describe('formatZendeskName (Storeganise → Zendesk)', () => {
  const cases: { name: StoreganiseName; format: NameFormat; expected: string; why: string }[] = [
    {
      name: { firstName: 'Taro', lastName: 'Yamada' },
      format: 'first_last',
      expected: 'Taro Yamada',
      why: 'first_last puts the first name first',
    },
    {
      name: { firstName: 'Taro', lastName: 'Yamada' },
      format: 'last_first',
      expected: 'Yamada Taro',
      why: 'last_first puts the last name first',
    },
    {
      name: { firstName: '太郎', lastName: '山田' },
      format: 'last_first',
      expected: '山田 太郎',
      why: 'a Japanese name in last_first reads family name first',
    },
    {
      name: { firstName: 'Mary Ann', lastName: 'Smith' },
      format: 'first_last',
      expected: 'Mary Ann Smith',
      why: 'a first name with a space is kept whole',
    },
    {
      name: { firstName: 'Mary Ann', lastName: 'Smith' },
      format: 'last_first',
      expected: 'Smith Mary Ann',
      why: 'a first name with a space is kept whole in last_first',
    },
    {
      name: { firstName: 'Cher', lastName: UNKNOWN_LAST_NAME },
      format: 'first_last',
      expected: 'Cher',
      why: 'the unknown last name is left out',
    },
    {
      name: { firstName: 'Cher', lastName: UNKNOWN_LAST_NAME },
      format: 'last_first',
      expected: 'Cher',
      why: 'the unknown last name is left out in last_first',
    },
    {
      name: { firstName: 'Cher', lastName: '  unknown ' },
      format: 'first_last',
      expected: 'Cher',
      why: 'the unknown last name is recognised after trimming',
    },
    {
      name: { firstName: 'Cher', lastName: 'Unknown' },
      format: 'first_last',
      expected: 'Cher Unknown',
      why: 'only the exact lower-case placeholder is left out',
    },
    {
      name: { firstName: 'Taro', lastName: '' },
      format: 'first_last',
      expected: 'Taro',
      why: 'an empty last name is left out',
    },
    {
      name: { firstName: 'Taro', lastName: null },
      format: 'last_first',
      expected: 'Taro',
      why: 'a null last name is left out',
    },
    { name: { firstName: 'Taro' }, format: 'first_last', expected: 'Taro', why: 'a missing last name is left out' },
    {
      name: { firstName: '', lastName: 'Yamada' },
      format: 'first_last',
      expected: 'Yamada',
      why: 'an empty first name gives the last name alone',
    },
    {
      name: { firstName: null, lastName: 'Yamada' },
      format: 'last_first',
      expected: 'Yamada',
      why: 'a null first name gives the last name alone in last_first',
    },
    {
      name: { lastName: 'Yamada' },
      format: 'first_last',
      expected: 'Yamada',
      why: 'a missing first name gives the last name alone',
    },
    {
      name: { firstName: '   ', lastName: ' Yamada ' },
      format: 'first_last',
      expected: 'Yamada',
      why: 'a blank first name gives the last name alone',
    },
    {
      name: { firstName: '', lastName: UNKNOWN_LAST_NAME },
      format: 'first_last',
      expected: '',
      why: 'an empty first name with the unknown last name gives an empty name',
    },
    { name: {}, format: 'first_last', expected: '', why: 'no name parts give an empty name' },
    {
      name: { firstName: '  Taro \t', lastName: '\u3000Yamada\n' },
      format: 'first_last',
      expected: 'Taro Yamada',
      why: 'white space in each part is normalised',
    },
    {
      name: { firstName: 'Mary\u3000\u3000Ann', lastName: 'Smith' },
      format: 'first_last',
      expected: 'Mary Ann Smith',
      why: 'white space inside a part is collapsed',
    },
  ];
  for (const { name, format, expected, why } of cases) {
    it(`${why}: ${JSON.stringify(name)} as ${format} → ${JSON.stringify(expected)}`, () => {
      assert.equal(formatZendeskName(name, format), expected);
    });
  }
});

describe('splitZendeskName (Zendesk → Storeganise)', () => {
  const cases: {
    zendeskName: string | null | undefined;
    format: NameFormat;
    expected: PersonName | null;
    why: string;
  }[] = [
    {
      zendeskName: 'Taro Yamada',
      format: 'first_last',
      expected: { firstName: 'Taro', lastName: 'Yamada' },
      why: 'two parts in first_last are first then last',
    },
    {
      zendeskName: 'Yamada Taro',
      format: 'last_first',
      expected: { firstName: 'Taro', lastName: 'Yamada' },
      why: 'two parts in last_first are last then first',
    },
    {
      zendeskName: '山田 太郎',
      format: 'last_first',
      expected: { firstName: '太郎', lastName: '山田' },
      why: 'a Japanese name in last_first splits family name first',
    },
    {
      zendeskName: '山田\u3000太郎',
      format: 'last_first',
      expected: { firstName: '太郎', lastName: '山田' },
      why: 'an ideographic space separates the parts too',
    },
    {
      zendeskName: '山田 太郎',
      format: 'first_last',
      expected: { firstName: '山田', lastName: '太郎' },
      why: 'the format, not the script, decides the order',
    },
    {
      zendeskName: '山田太郎',
      format: 'last_first',
      expected: { firstName: '山田太郎', lastName: UNKNOWN_LAST_NAME },
      why: 'a name without a space is one part',
    },
    {
      zendeskName: 'Cher',
      format: 'first_last',
      expected: { firstName: 'Cher', lastName: UNKNOWN_LAST_NAME },
      why: 'one part goes into the first name',
    },
    {
      zendeskName: 'Cher',
      format: 'last_first',
      expected: { firstName: 'Cher', lastName: UNKNOWN_LAST_NAME },
      why: 'one part goes into the first name in last_first too',
    },
    {
      zendeskName: 'Mary Ann Smith',
      format: 'first_last',
      expected: { firstName: 'Mary Ann Smith', lastName: UNKNOWN_LAST_NAME },
      why: 'three parts go whole into the first name',
    },
    {
      zendeskName: 'Smith Mary Ann',
      format: 'last_first',
      expected: { firstName: 'Smith Mary Ann', lastName: UNKNOWN_LAST_NAME },
      why: 'three parts go whole into the first name in last_first',
    },
    {
      zendeskName: 'Juan Carlos de la Vega',
      format: 'first_last',
      expected: { firstName: 'Juan Carlos de la Vega', lastName: UNKNOWN_LAST_NAME },
      why: 'many parts go whole into the first name',
    },
    {
      zendeskName: '  Taro   Yamada ',
      format: 'first_last',
      expected: { firstName: 'Taro', lastName: 'Yamada' },
      why: 'surrounding and repeated spaces are ignored',
    },
    {
      zendeskName: '\tTaro\nYamada\u00a0',
      format: 'first_last',
      expected: { firstName: 'Taro', lastName: 'Yamada' },
      why: 'tabs, line breaks and no-break spaces separate parts',
    },
    {
      zendeskName: ' Mary  Ann\u3000Smith ',
      format: 'first_last',
      expected: { firstName: 'Mary Ann Smith', lastName: UNKNOWN_LAST_NAME },
      why: 'a first name made of many parts is stored normalised',
    },
    {
      zendeskName: 'Taro unknown',
      format: 'first_last',
      expected: { firstName: 'Taro unknown', lastName: UNKNOWN_LAST_NAME },
      why: 'a second part equal to the placeholder is kept in the first name so it is not lost',
    },
    {
      zendeskName: 'unknown Taro',
      format: 'last_first',
      expected: { firstName: 'unknown Taro', lastName: UNKNOWN_LAST_NAME },
      why: 'a last-name part equal to the placeholder is kept in the first name in last_first',
    },
    {
      zendeskName: 'unknown Taro',
      format: 'first_last',
      expected: { firstName: 'unknown', lastName: 'Taro' },
      why: 'a first-name part equal to the placeholder splits as usual',
    },
    {
      zendeskName: 'unknown',
      format: 'first_last',
      expected: { firstName: 'unknown', lastName: UNKNOWN_LAST_NAME },
      why: 'a lone placeholder word is a one-part name',
    },
    { zendeskName: '', format: 'first_last', expected: null, why: 'an empty name gives no name' },
    { zendeskName: ' \u3000\t ', format: 'last_first', expected: null, why: 'a blank name gives no name' },
    { zendeskName: null, format: 'first_last', expected: null, why: 'a null name gives no name' },
    { zendeskName: undefined, format: 'last_first', expected: null, why: 'a missing name gives no name' },
  ];
  for (const { zendeskName, format, expected, why } of cases) {
    it(`${why}: ${JSON.stringify(zendeskName)} as ${format} → ${JSON.stringify(expected)}`, () => {
      assert.deepEqual(splitZendeskName(zendeskName, format), expected);
    });
  }
});

describe('namesAgree', () => {
  const cases: {
    sg: StoreganiseName;
    zendeskName: string | null | undefined;
    format: NameFormat;
    expected: boolean;
    why: string;
  }[] = [
    {
      sg: { firstName: 'Taro', lastName: 'Yamada' },
      zendeskName: 'Taro Yamada',
      format: 'first_last',
      expected: true,
      why: 'the same name in first_last agrees',
    },
    {
      sg: { firstName: 'Taro', lastName: 'Yamada' },
      zendeskName: 'Yamada Taro',
      format: 'last_first',
      expected: true,
      why: 'the same name in last_first agrees',
    },
    {
      sg: { firstName: 'Taro', lastName: 'Yamada' },
      zendeskName: 'Yamada Taro',
      format: 'first_last',
      expected: false,
      why: 'the swapped order disagrees in first_last',
    },
    {
      sg: { firstName: 'Taro', lastName: 'Yamada' },
      zendeskName: 'Taro Yamada',
      format: 'last_first',
      expected: false,
      why: 'the swapped order disagrees in last_first',
    },
    {
      sg: { firstName: 'Mary Ann', lastName: 'Smith' },
      zendeskName: 'Mary Ann Smith',
      format: 'first_last',
      expected: true,
      why: 'a two-word first name agrees with the three-part Zendesk name',
    },
    {
      sg: { firstName: 'Mary Ann Smith', lastName: UNKNOWN_LAST_NAME },
      zendeskName: 'Mary Ann Smith',
      format: 'first_last',
      expected: true,
      why: 'a name stored whole with the unknown last name agrees',
    },
    {
      sg: { firstName: 'Cher', lastName: UNKNOWN_LAST_NAME },
      zendeskName: 'Cher',
      format: 'first_last',
      expected: true,
      why: 'a one-part name with the unknown last name agrees',
    },
    {
      sg: { firstName: '太郎', lastName: '山田' },
      zendeskName: '山田\u3000太郎',
      format: 'last_first',
      expected: true,
      why: 'an ideographic space in Zendesk agrees with an ASCII space',
    },
    {
      sg: { firstName: ' Taro ', lastName: 'Yamada' },
      zendeskName: '  Taro   Yamada ',
      format: 'first_last',
      expected: true,
      why: 'white space differences on either side agree',
    },
    {
      sg: { firstName: '', lastName: 'Yamada' },
      zendeskName: 'Yamada',
      format: 'first_last',
      expected: true,
      why: 'a last name alone agrees with the one-part Zendesk name',
    },
    {
      sg: { firstName: 'Taro', lastName: 'Yamada' },
      zendeskName: 'Taro Tanaka',
      format: 'first_last',
      expected: false,
      why: 'a changed last name disagrees',
    },
    {
      sg: { firstName: 'Taro', lastName: 'Yamada' },
      zendeskName: 'taro yamada',
      format: 'first_last',
      expected: false,
      why: 'a change of letter case is a real edit',
    },
    {
      sg: { firstName: 'Cher', lastName: UNKNOWN_LAST_NAME },
      zendeskName: 'Cher unknown',
      format: 'first_last',
      expected: false,
      why: 'a visible "unknown" in Zendesk is not the placeholder',
    },
    {
      sg: { firstName: 'Taro', lastName: 'Yamada' },
      zendeskName: null,
      format: 'first_last',
      expected: false,
      why: 'a name against no Zendesk name disagrees',
    },
    {
      sg: { firstName: 'Taro', lastName: 'Yamada' },
      zendeskName: '',
      format: 'first_last',
      expected: false,
      why: 'a name against an empty Zendesk name disagrees',
    },
    {
      sg: {},
      zendeskName: 'Taro Yamada',
      format: 'first_last',
      expected: false,
      why: 'no Storeganise name against a Zendesk name disagrees',
    },
    {
      sg: { firstName: null, lastName: null },
      zendeskName: null,
      format: 'first_last',
      expected: true,
      why: 'no name on either side agrees',
    },
    {
      sg: { firstName: '', lastName: '' },
      zendeskName: '  ',
      format: 'last_first',
      expected: true,
      why: 'empty names on both sides agree',
    },
    {
      sg: { firstName: '', lastName: UNKNOWN_LAST_NAME },
      zendeskName: undefined,
      format: 'first_last',
      expected: true,
      why: 'the placeholder alone agrees with no Zendesk name',
    },
  ];
  for (const { sg, zendeskName, format, expected, why } of cases) {
    it(`${why}: ${JSON.stringify(sg)} vs ${JSON.stringify(zendeskName)} as ${format}`, () => {
      assert.equal(namesAgree(sg, zendeskName, format), expected);
    });
  }
});

describe('name round trips cause no write', () => {
  const zendeskNames = [
    'Taro Yamada',
    'Yamada Taro',
    '山田 太郎',
    '山田\u3000太郎',
    '山田太郎',
    'Cher',
    'Mary Ann Smith',
    'Juan Carlos de la Vega',
    '  Taro   Yamada ',
    '\tTaro\nYamada\u00a0',
    'Taro unknown',
    'unknown Taro',
    'unknown',
    'unknown unknown',
    'Unknown Person',
    "O'Brien Seán",
    'Anne-Marie Dubois',
  ];
  for (const format of NAME_FORMATS) {
    for (const zendeskName of zendeskNames) {
      it(`a Zendesk name ${JSON.stringify(zendeskName)} mapped to Storeganise agrees with Zendesk again (${format})`, () => {
        const storeganiseName = splitZendeskName(zendeskName, format);
        assert.ok(storeganiseName, 'a non-blank Zendesk name always splits');
        assert.equal(namesAgree(storeganiseName, zendeskName, format), true);
        assert.equal(formatZendeskName(storeganiseName, format), normaliseWhitespace(zendeskName));
      });
    }
  }

  const storeganiseNames: { firstName: string; lastName: string }[] = [
    { firstName: 'Taro', lastName: 'Yamada' },
    { firstName: '太郎', lastName: '山田' },
    { firstName: 'Mary Ann', lastName: 'Smith' },
    { firstName: 'Cher', lastName: UNKNOWN_LAST_NAME },
    { firstName: 'Mary Ann Smith', lastName: UNKNOWN_LAST_NAME },
    { firstName: '', lastName: 'Yamada' },
    { firstName: 'Taro', lastName: '' },
    { firstName: '  Taro ', lastName: ' Yamada\u3000' },
    { firstName: 'Taro', lastName: 'van der Berg' },
    { firstName: 'unknown', lastName: 'Taro' },
  ];
  for (const format of NAME_FORMATS) {
    for (const storeganiseName of storeganiseNames) {
      it(`a Storeganise name ${JSON.stringify(storeganiseName)} sent to Zendesk and mapped back is equal or agrees (${format})`, () => {
        const zendeskName = formatZendeskName(storeganiseName, format);
        const mappedBack = splitZendeskName(zendeskName, format);
        const normalised = {
          firstName: normaliseWhitespace(storeganiseName.firstName),
          lastName: normaliseWhitespace(storeganiseName.lastName),
        };
        const equal =
          mappedBack !== null &&
          mappedBack.firstName === normalised.firstName &&
          mappedBack.lastName === normalised.lastName;
        // The echo from Zendesk must not be written back to Storeganise…
        assert.ok(equal || namesAgree(storeganiseName, zendeskName, format));
        // …and whatever Storeganise would hold after it must not be written to Zendesk again.
        if (mappedBack !== null) assert.equal(namesAgree(mappedBack, zendeskName, format), true);
      });
    }
  }

  const reshaped: { sg: PersonName; format: NameFormat; mappedBack: PersonName }[] = [
    {
      sg: { firstName: 'Mary Ann', lastName: 'Smith' },
      format: 'first_last',
      mappedBack: { firstName: 'Mary Ann Smith', lastName: UNKNOWN_LAST_NAME },
    },
    {
      sg: { firstName: '', lastName: 'Yamada' },
      format: 'first_last',
      mappedBack: { firstName: 'Yamada', lastName: UNKNOWN_LAST_NAME },
    },
    {
      sg: { firstName: 'Taro', lastName: '' },
      format: 'last_first',
      mappedBack: { firstName: 'Taro', lastName: UNKNOWN_LAST_NAME },
    },
  ];
  for (const { sg, format, mappedBack } of reshaped) {
    it(`a Storeganise name ${JSON.stringify(sg)} comes back reshaped as ${JSON.stringify(mappedBack)} but still agrees, so nothing is written (${format})`, () => {
      const zendeskName = formatZendeskName(sg, format);
      assert.deepEqual(splitZendeskName(zendeskName, format), mappedBack);
      assert.equal(namesAgree(sg, zendeskName, format), true);
    });
  }
});
