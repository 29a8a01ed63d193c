/**
 * The goal line of the prompt `init` writes. A prompt that still holds it was never edited: the
 * agent would spend a round guessing what to do. Kept in one place so `init`, `doctor` and the
 * shipped prompts/main.md cannot drift apart (a unit test reads the shipped file).
 */
export const TEMPLATE_GOAL = 'Goal: replace this paragraph with what you want done.';

/** The goal the demo preset writes instead: the demo agent ignores it, but it is a real goal. */
export const DEMO_GOAL = 'Goal: keep NOTES.md growing by one line per round (the demo agent does exactly this).';

export function hasTemplateGoal(promptText: string): boolean {
  return promptText.includes(TEMPLATE_GOAL);
}
