/**
 * The object's one alarm, set for whichever of its timed jobs comes first. Remembers what it
 * last asked for, so that an unchanged schedule costs no storage write.
 */
export class AlarmSchedule {
  private asked: number | null | undefined;

  constructor(private readonly storage: DurableObjectStorage) {}

  /** Sets the alarm for `at` (ms), or clears it when `at` is Infinity. */
  set(at: number): void {
    const next = at === Infinity ? null : at;
    if (next === this.asked) return;
    this.asked = next;
    const scheduled = next === null ? this.storage.deleteAlarm() : this.storage.setAlarm(next);
    scheduled.catch((error: unknown) => {
      // Forget what was asked for, so that the next change asks again.
      this.asked = undefined;
      console.error(JSON.stringify({ message: "alarm scheduling failed", error: String(error) }));
    });
  }

  /** The alarm has fired, so none is set. */
  fired(): void {
    this.asked = undefined;
  }
}
