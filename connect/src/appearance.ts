// Appearance variables (Stripe's names, STRIPE_API.md §8) become CSS custom properties on each element:
// `colorPrimary` → `--pk-color-primary`, `buttonPrimaryColorBackground` →
// `--pk-button-primary-color-background`, … Custom properties inherit through shadow roots, so the
// components' styles (styles.ts) read them with the defaults as fallbacks. `update({appearance})`
// replaces the set: properties the new appearance no longer names are removed.

import type { Appearance } from "./session.js";

const applied = new WeakMap<HTMLElement, Set<string>>();

function propertyName(variable: string): string {
  return "--pk-" + variable.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase()).replace(/[^a-z0-9-]/g, "");
}

function cssValue(variable: string, value: string | number): string {
  // Numbers are pixels where Stripe's are lengths (spacingUnit: 8 → 8px); z-index stays a number.
  if (typeof value === "number") return /zindex|weight/i.test(variable) ? String(value) : `${value}px`;
  return value.replace(/[;{}<>]/g, "");
}

export function applyAppearance(host: HTMLElement, appearance: Appearance | undefined): void {
  const previous = applied.get(host) ?? new Set<string>();
  const now = new Set<string>();
  for (const [variable, value] of Object.entries(appearance?.variables ?? {})) {
    if (value === undefined || value === null || value === "") continue;
    const name = propertyName(variable);
    host.style.setProperty(name, cssValue(variable, value));
    now.add(name);
  }
  for (const name of previous) if (!now.has(name)) host.style.removeProperty(name);
  applied.set(host, now);
}
