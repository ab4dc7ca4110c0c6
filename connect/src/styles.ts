import { css } from "lit";

// Every colour, size and radius reads an appearance variable (appearance.ts) with a default.
export const base = css`
  :host {
    display: block;
    container-type: inline-size;
    --primary: var(--pk-color-primary, #635bff);
    --bg: var(--pk-color-background, #ffffff);
    --text: var(--pk-color-text, #30313d);
    --danger: var(--pk-color-danger, #c0123c);
    --muted: var(--pk-color-secondary-text, #596171);
    --border: var(--pk-color-border, #d5dbe1);
    --u: var(--pk-spacing-unit, 8px);
    --radius: var(--pk-border-radius, 8px);
    font-family: var(--pk-font-family, system-ui, -apple-system, "Segoe UI", Roboto, sans-serif);
    font-size: var(--pk-font-size-base, 14px);
    line-height: 1.45;
    color: var(--text);
    background: var(--bg);
  }
  :host([hidden]) {
    display: none;
  }
  * {
    box-sizing: border-box;
  }
  h2,
  h3 {
    margin: 0 0 var(--u);
    font-size: 1.15em;
    font-weight: 600;
  }
  h3 {
    font-size: 1em;
  }
  .muted {
    color: var(--muted);
  }
  .card {
    border: 1px solid var(--border);
    border-radius: var(--radius);
    padding: calc(var(--u) * 2);
    margin-bottom: calc(var(--u) * 2);
    background: var(--bg);
  }
  .big {
    font-size: 1.8em;
    font-weight: 600;
    font-variant-numeric: tabular-nums;
  }
  dl {
    margin: 0;
  }
  dt {
    color: var(--muted);
    font-size: 0.9em;
  }
  dd {
    margin: 0;
    font-variant-numeric: tabular-nums;
  }
  .card > .grid:first-child {
    margin-top: 0;
  }
  .grid {
    display: grid;
    grid-template-columns: repeat(auto-fit, minmax(150px, 1fr));
    gap: calc(var(--u) * 2);
    margin: calc(var(--u) * 2) 0;
  }
  ul.plain {
    list-style: none;
    margin: 0;
    padding: 0;
  }
  button {
    font: inherit;
    cursor: pointer;
    border-radius: var(--pk-button-border-radius, var(--radius));
    padding: var(--u) calc(var(--u) * 2);
    min-height: 36px;
    border: 1px solid var(--pk-button-secondary-color-border, var(--border));
    background: var(--pk-button-secondary-color-background, var(--bg));
    color: var(--pk-button-secondary-color-text, var(--text));
  }
  button.primary {
    border-color: var(--pk-button-primary-color-border, var(--primary));
    background: var(--pk-button-primary-color-background, var(--primary));
    color: var(--pk-button-primary-color-text, #ffffff);
    font-weight: 600;
  }
  button:disabled {
    opacity: 0.55;
    cursor: not-allowed;
  }
  button.link {
    border: none;
    background: none;
    padding: 0;
    min-height: 0;
    color: var(--pk-action-primary-color-text, var(--primary));
    text-decoration: underline;
    text-align: start;
  }
  :focus-visible {
    outline: 2px solid var(--pk-form-highlight-color-border, var(--primary));
    outline-offset: 2px;
  }
  .actions {
    display: flex;
    flex-wrap: wrap;
    gap: var(--u);
    align-items: center;
  }
  .header {
    display: flex;
    justify-content: space-between;
    align-items: flex-start;
    gap: var(--u);
  }
  .actions.end {
    justify-content: flex-end;
  }
  .reason {
    color: var(--muted);
    font-size: 0.9em;
    margin: var(--u) 0 0;
  }
  .error {
    color: var(--danger);
  }
  .badge {
    display: inline-block;
    padding: 0 var(--u);
    border-radius: var(--pk-badge-border-radius, 999px);
    font-size: 0.85em;
    font-weight: 600;
    border: 1px solid var(--pk-badge-neutral-color-border, transparent);
    background: var(--pk-badge-neutral-color-background, #ebeef1);
    color: var(--pk-badge-neutral-color-text, #414552);
  }
  .badge.paid {
    border-color: var(--pk-badge-success-color-border, transparent);
    background: var(--pk-badge-success-color-background, #d7f7c2);
    color: var(--pk-badge-success-color-text, #05690d);
  }
  .badge.in_transit,
  .badge.pending {
    border-color: var(--pk-badge-warning-color-border, transparent);
    background: var(--pk-badge-warning-color-background, #fcedb9);
    color: var(--pk-badge-warning-color-text, #8a2900);
  }
  .badge.failed,
  .badge.canceled {
    border-color: var(--pk-badge-danger-color-border, transparent);
    background: var(--pk-badge-danger-color-background, #ffe7f2);
    color: var(--pk-badge-danger-color-text, #a50036);
  }
  label {
    display: block;
    font-weight: 600;
    margin: calc(var(--u) * 1.5) 0 calc(var(--u) / 2);
  }
  input[type="text"],
  input[type="number"],
  select {
    font: inherit;
    color: var(--text);
    background: var(--bg);
    width: 100%;
    min-height: 36px;
    padding: calc(var(--u) * 0.75) var(--u);
    border: 1px solid var(--border);
    border-radius: var(--pk-form-border-radius, var(--radius));
  }
  input[aria-invalid="true"] {
    border-color: var(--danger);
  }
  fieldset {
    border: none;
    margin: calc(var(--u) * 1.5) 0 0;
    padding: 0;
  }
  legend {
    font-weight: 600;
    padding: 0;
    margin-bottom: calc(var(--u) / 2);
  }
  .choice {
    display: flex;
    gap: var(--u);
    align-items: baseline;
    padding: var(--u);
    border: 1px solid var(--border);
    border-radius: var(--radius);
    margin-bottom: var(--u);
  }
  .choice label {
    margin: 0;
  }
  input[type="radio"] {
    accent-color: var(--pk-form-accent-color, var(--primary));
  }
  dialog {
    border: 1px solid var(--border);
    border-radius: var(--pk-overlay-border-radius, var(--radius));
    background: var(--bg);
    color: var(--text);
    padding: calc(var(--u) * 3);
    width: min(480px, calc(100vw - 16px));
    max-height: calc(100vh - 16px);
    overflow: auto;
  }
  dialog:focus {
    /* The dialog itself takes focus when its first control is in a nested shadow root. */
    outline: none;
  }
  dialog::backdrop {
    background: var(--pk-overlay-backdrop-color, rgba(0, 0, 0, 0.4));
  }
  dialog.wide {
    width: min(720px, calc(100vw - 16px));
  }
  dialog.drawer {
    margin: 0 0 0 auto;
    height: 100vh;
    max-height: 100vh;
    border-radius: 0;
    border-width: 0 0 0 1px;
  }
  .summary {
    background: var(--pk-offset-background-color, rgba(127, 127, 127, 0.08));
    border-radius: var(--radius);
    padding: calc(var(--u) * 1.5);
    margin-top: calc(var(--u) * 2);
  }
  .summary > div {
    display: flex;
    justify-content: space-between;
    gap: var(--u);
  }
  .summary dt {
    font-size: 1em;
  }
  table {
    width: 100%;
    border-collapse: collapse;
    font-variant-numeric: tabular-nums;
  }
  caption {
    text-align: start;
    font-weight: 600;
    font-size: 1.15em;
    margin-bottom: var(--u);
  }
  th,
  td {
    text-align: start;
    padding: var(--u);
    border-bottom: 1px solid var(--border);
  }
  th {
    color: var(--muted);
    font-weight: 600;
    font-size: 0.9em;
  }
  td.num,
  th.num {
    text-align: end;
  }
  tbody tr.open {
    cursor: pointer;
  }
  tbody tr.open:hover {
    background: rgba(127, 127, 127, 0.07);
  }
  .state {
    padding: calc(var(--u) * 3);
    text-align: center;
    color: var(--muted);
  }
  .skeleton {
    height: 1em;
    border-radius: 4px;
    background: rgba(127, 127, 127, 0.15);
    margin: var(--u) 0;
  }
  .sr-only {
    position: absolute;
    width: 1px;
    height: 1px;
    overflow: hidden;
    clip: rect(0 0 0 0);
    white-space: nowrap;
  }
  @container (max-width: 480px) {
    .grid {
      grid-template-columns: 1fr 1fr;
    }
    .big {
      font-size: 1.5em;
    }
    .wide-only {
      display: none;
    }
    .actions button {
      flex: 1 1 auto;
    }
  }
`;
