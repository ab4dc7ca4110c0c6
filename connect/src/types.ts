// The embedded API's objects (docs/embedded.md §2), only what the components show.

export type Method = "standard" | "instant";
export type Interval = "daily" | "weekly" | "monthly" | "manual";

export interface Features {
  instant_payouts?: boolean;
  standard_payouts?: boolean;
  edit_payout_schedule?: boolean;
  external_account_collection?: boolean;
  disable_stripe_user_authentication?: boolean;
}

export interface Component {
  enabled: boolean;
  features: Features;
}

export interface Schedule {
  interval: Interval;
  delay_days: number | null;
  weekly_anchor: string | null;
  monthly_anchor: number | null;
}

export interface Destination {
  id: string;
  object: "bank_account" | "card";
  bank_name: string | null;
  brand: string | null;
  last4: string;
  currency: string;
  country: string;
  default_for_currency: boolean;
  status: string;
  methods: Method[];
}

export interface Account {
  id: string;
  display_name: string | null;
  country: string;
  default_currency: string;
  livemode: boolean;
  components: Record<string, Component>;
  schedule: Schedule;
  destinations: Destination[];
}

export interface MethodAvailability {
  allowed: boolean;
  reason: string | null;
  message?: string | null;
  // The largest payout of the method the funds cover now, fees included: the dialog's default.
  max_amount?: number;
}

export interface CurrencyBalance {
  currency: string;
  available: number;
  pending: number;
  in_transit: number;
  total: number;
  pending_by_date: { available_on: number; amount: number }[];
  instant_available: number | null;
  payouts: { standard: MethodAvailability; instant: MethodAvailability };
}

export interface Balance {
  currencies: CurrencyBalance[];
}

export interface Preview {
  amount: number;
  currency: string;
  method: Method;
  fee: number;
  net: number;
  total?: number;
  arrival_date: number | null;
  destination: string | null;
}

export interface PayoutDestination {
  id: string;
  object: "bank_account" | "card";
  last4: string;
  bank_name: string | null;
  brand: string | null;
}

export interface Payout {
  id: string;
  amount: number;
  currency: string;
  status: string;
  method: Method;
  created: number;
  arrival_date: number | null;
  fee: number;
  net: number;
  total?: number;
  destination: PayoutDestination | null;
  automatic: boolean;
  failure_message: string | null;
}

export interface PayoutDetail extends Payout {
  history: { status: string; at: number }[];
  transactions: {
    id: string;
    type: string;
    amount: number;
    fee: number;
    net: number;
    created: number;
    description: string | null;
  }[];
}

export interface PayoutPage {
  data: Payout[];
  has_more: boolean;
}

export interface ApiErrorBody {
  type: string;
  code?: string;
  message?: string;
  param?: string;
}

export interface LoadError {
  error: { type: string; message?: string };
  elementTagName: string;
}
