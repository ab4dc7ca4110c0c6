// The Edit schedule dialog of `balances` (when the session's `edit_payout_schedule` is on): frequency,
// the delay in business days, the weekday or the day of the month. Saved through
// POST /embedded/v1/payout_schedule (the same use case and validation as the v1 account update).

import { html, nothing, type TemplateResult } from "lit";
import { live } from "lit/directives/live.js";
import { asApiError, openDialog, staleClose } from "./base.js";
import type { DialogHost } from "./dialog-host.js";
import type { Interval, Schedule } from "./types.js";

const INTERVALS: Interval[] = ["manual", "daily", "weekly", "monthly"];
const WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];

export class ScheduleDialog {
  private readonly host: DialogHost;
  private draft: Schedule | null = null;
  private saving = false;
  private error: string | null = null;

  constructor(host: DialogHost) {
    this.host = host;
  }

  private get dialog(): HTMLDialogElement | null {
    return this.host.renderRoot.querySelector("dialog#schedule");
  }

  open(opener: Element): void {
    const current = this.host.account!.schedule;
    this.draft = {
      interval: current.interval,
      delay_days: current.delay_days ?? 2,
      weekly_anchor: current.weekly_anchor ?? "monday",
      monthly_anchor: current.monthly_anchor ?? 1,
    };
    this.error = null;
    this.host.requestUpdate();
    void this.host.updateComplete.then(() => {
      openDialog(this.dialog, opener);
      this.dialog?.querySelector<HTMLSelectElement>("#schedule-interval")?.focus();
    });
  }

  private set(change: Partial<Schedule>): void {
    this.draft = { ...this.draft!, ...change };
    this.error = null;
    this.host.requestUpdate();
  }

  private async save(event: Event): Promise<void> {
    event.preventDefault();
    if (this.saving || !this.draft) return;
    const d = this.draft;
    const body: Record<string, unknown> = { interval: d.interval };
    if (d.interval !== "manual") body["delay_days"] = d.delay_days;
    if (d.interval === "weekly") body["weekly_anchor"] = d.weekly_anchor;
    if (d.interval === "monthly") body["monthly_anchor"] = d.monthly_anchor;
    this.saving = true;
    this.host.requestUpdate();
    try {
      await this.host.connector!.request<Schedule>("POST", "/embedded/v1/payout_schedule", body);
      await this.host.refresh(true);
      this.dialog?.close();
    } catch (error) {
      this.error = asApiError(error).message;
    } finally {
      this.saving = false;
      this.host.requestUpdate();
    }
  }

  render(): TemplateResult {
    const t = this.host.fmt.t.bind(this.host.fmt);
    const d = this.draft;
    return html`<dialog id="schedule" class=${this.host.overlayClass} aria-labelledby="schedule-title" @close=${() => {
      if (staleClose(this.dialog)) return;
      this.draft = null;
      this.host.requestUpdate();
    }}>
      <h2 id="schedule-title">${t("schedule")}</h2>
      ${d === null
        ? nothing
        : html`<form @submit=${(e: Event) => void this.save(e)} novalidate>
            <label for="schedule-interval">${t("frequency")}</label>
            <select
              id="schedule-interval"
              @change=${(e: Event) => this.set({ interval: (e.target as HTMLSelectElement).value as Interval })}
            >
              ${INTERVALS.map((i) => html`<option value=${i} ?selected=${d.interval === i}>${t(i)}</option>`)}
            </select>
            ${d.interval === "weekly"
              ? html`<label for="schedule-weekday">${t("weeklyAnchor")}</label>
                  <select
                    id="schedule-weekday"
                    @change=${(e: Event) => this.set({ weekly_anchor: (e.target as HTMLSelectElement).value })}
                  >
                    ${WEEKDAYS.map(
                      (w) => html`<option value=${w} ?selected=${d.weekly_anchor === w}>${this.host.fmt.weekday(w)}</option>`,
                    )}
                  </select>`
              : nothing}
            ${d.interval === "monthly"
              ? html`<label for="schedule-monthday">${t("monthlyAnchor")}</label>
                  <select
                    id="schedule-monthday"
                    @change=${(e: Event) => this.set({ monthly_anchor: Number((e.target as HTMLSelectElement).value) })}
                  >
                    ${Array.from({ length: 31 }, (_, i) => i + 1).map(
                      (n) => html`<option value=${n} ?selected=${d.monthly_anchor === n}>${n}</option>`,
                    )}
                  </select>`
              : nothing}
            ${d.interval !== "manual"
              ? html`<label for="schedule-delay">${t("delayDays")}</label>
                  <input
                    id="schedule-delay"
                    type="number"
                    min="0"
                    max="365"
                    inputmode="numeric"
                    .value=${live(String(d.delay_days ?? 2))}
                    @input=${(e: Event) => this.set({ delay_days: Number((e.target as HTMLInputElement).value) })}
                  />`
              : nothing}
            <p class="reason" aria-live="polite">${this.host.fmt.schedule(d)}</p>
            ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : nothing}
            <div class="actions end" style="margin-top:16px">
              <button type="button" @click=${() => this.dialog?.close()}>${t("cancel")}</button>
              <button type="submit" class="primary" ?disabled=${this.saving}>${t("save")}</button>
            </div>
          </form>`}
    </dialog>`;
  }
}
