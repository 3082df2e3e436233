export const CUSTOMER_STATUSES = ['active', 'new_prospect', 'deactivated'] as const;
export type CustomerStatus = (typeof CUSTOMER_STATUSES)[number];

const OCCUPIED_RENTAL_STATE = 'occupied';
const ENDED_RENTAL_STATE = 'ended';

/** Customer status from the disabled flag and the states of the user's unit rentals. */
export function customerStatus(input: { disabled: boolean; rentalStates: readonly string[] }): CustomerStatus {
  // Disabling deactivates the customer even while a unit is still occupied (product spec §4.3).
  if (input.disabled) return 'deactivated';
  if (input.rentalStates.includes(OCCUPIED_RENTAL_STATE)) return 'active';
  // Reserved, submitted, cancelled or unknown rentals neither make a customer active nor mark them as a past customer.
  if (input.rentalStates.includes(ENDED_RENTAL_STATE)) return 'deactivated';
  return 'new_prospect';
}
