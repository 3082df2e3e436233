import assert from 'node:assert/strict';
import { CUSTOMER_STATUSES, customerStatus, type CustomerStatus } from '../domain/status';

describe('customerStatus', () => {
  const cases: { disabled: boolean; rentalStates: string[]; expected: CustomerStatus; why: string }[] = [
    {
      disabled: false,
      rentalStates: ['occupied'],
      expected: 'active',
      why: 'an occupied rental makes the customer active',
    },
    {
      disabled: false,
      rentalStates: ['ended', 'occupied'],
      expected: 'active',
      why: 'an occupied rental wins over ended ones',
    },
    {
      disabled: false,
      rentalStates: ['reserved', 'occupied', 'cancelled'],
      expected: 'active',
      why: 'an occupied rental wins over pre-move-in ones',
    },
    {
      disabled: false,
      rentalStates: ['occupied', 'occupied'],
      expected: 'active',
      why: 'several occupied rentals make the customer active',
    },
    {
      disabled: false,
      rentalStates: ['ended'],
      expected: 'deactivated',
      why: 'only ended rentals deactivate the customer',
    },
    {
      disabled: false,
      rentalStates: ['ended', 'ended'],
      expected: 'deactivated',
      why: 'several ended rentals deactivate the customer',
    },
    {
      disabled: false,
      rentalStates: ['ended', 'reserved'],
      expected: 'deactivated',
      why: 'a reservation next to ended rentals is ignored',
    },
    {
      disabled: false,
      rentalStates: ['ended', 'cancelled', 'submitted', 'something_new'],
      expected: 'deactivated',
      why: 'rentals in other states next to ended ones are ignored',
    },
    { disabled: false, rentalStates: [], expected: 'new_prospect', why: 'no rentals make a new prospect' },
    {
      disabled: false,
      rentalStates: ['reserved'],
      expected: 'new_prospect',
      why: 'a reservation alone makes a new prospect',
    },
    {
      disabled: false,
      rentalStates: ['submitted'],
      expected: 'new_prospect',
      why: 'a submitted rental alone makes a new prospect',
    },
    {
      disabled: false,
      rentalStates: ['cancelled'],
      expected: 'new_prospect',
      why: 'a cancelled rental alone makes a new prospect',
    },
    {
      disabled: false,
      rentalStates: ['abandoned', 'something_new'],
      expected: 'new_prospect',
      why: 'rentals in unknown states alone make a new prospect',
    },
    {
      disabled: false,
      rentalStates: ['reserved', 'submitted', 'cancelled'],
      expected: 'new_prospect',
      why: 'only pre-move-in rentals make a new prospect',
    },
    {
      disabled: false,
      rentalStates: ['Occupied', 'ENDED'],
      expected: 'new_prospect',
      why: 'states are matched exactly as Storeganise spells them',
    },
    {
      disabled: true,
      rentalStates: ['occupied'],
      expected: 'deactivated',
      why: 'a disabled customer is deactivated even with an occupied rental',
    },
    {
      disabled: true,
      rentalStates: ['occupied', 'ended'],
      expected: 'deactivated',
      why: 'a disabled customer with occupied and ended rentals is deactivated',
    },
    {
      disabled: true,
      rentalStates: ['ended'],
      expected: 'deactivated',
      why: 'a disabled customer with ended rentals is deactivated',
    },
    {
      disabled: true,
      rentalStates: ['reserved'],
      expected: 'deactivated',
      why: 'a disabled customer with a reservation is deactivated',
    },
    {
      disabled: true,
      rentalStates: [],
      expected: 'deactivated',
      why: 'a disabled customer without rentals is deactivated',
    },
  ];
  for (const { disabled, rentalStates, expected, why } of cases) {
    it(`${why} (disabled: ${String(disabled)}, rentals: [${rentalStates.join(', ')}])`, () => {
      assert.equal(customerStatus({ disabled, rentalStates }), expected);
    });
  }

  it('every status it can return is one of the Zendesk dropdown options', () => {
    const returned = new Set(cases.map(({ disabled, rentalStates }) => customerStatus({ disabled, rentalStates })));
    assert.deepEqual([...returned].sort(), [...CUSTOMER_STATUSES].sort());
  });
});
