import type { OTPParams } from '../factor.js';

/** Inventory states of an imported hardware token. */
export type HardwareTokenState = 'unassigned' | 'assigned' | 'lost' | 'retired';

/** A hardware OTP token in an account's inventory. Its seed is sealed and never shown again. */
export interface HardwareToken {
  id: string;
  accountId: string;
  serial: string;
  manufacturer: string | null;
  model: string | null;
  params: OTPParams;
  secretSealed: string;
  state: HardwareTokenState;
  principalId: string | null;
  factorId: string | null;
  importId: string;
  importedAt: number;
  updatedAt: number;
}
