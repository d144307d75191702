"""What every panel of `charlm explore` shares: bad input shown as a message (never a traceback in the
server's log), a slider that refuses a typed value out of its range, and the page's own CSS and script
(inline: the page fetches nothing from elsewhere)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any

import gradio as gr

from charlm.errors import CharlmError

# coloured text reads as text: characters side by side, line breaks as line breaks; the clicked one
# outlined; the prompt greyed apart from what the model wrote; a refused value in red
CSS = """
.coloured .textfield { display: block !important; font-size: 0; line-height: 1.5; }
.coloured .token-container { display: inline; }
.coloured .token { display: inline-block; margin: 0 !important; padding: 0 !important;
                   border-radius: 0 !important; }
.coloured .token .text { font: 15px/1.5 var(--font-mono); white-space: pre; padding: 0 !important; }
.coloured .token[data-break] { display: inline; }
.coloured .token[data-break] .text { background: inherit; }
.coloured .token[data-break]::after { content: "\\A"; white-space: pre; font: 15px/1.5 var(--font-mono); }
.coloured .score-token[data-marked] { outline: 2px solid var(--body-text-color); outline-offset: -1px; }
.written { font: 15px/1.5 var(--font-mono); white-space: pre-wrap; min-height: 12em; padding: 8px; }
.written .prompt { background: var(--neutral-200); color: var(--neutral-700); border-radius: 3px; }
.earlier { display: grid; grid-template-columns: repeat(auto-fit, minmax(260px, 1fr)); gap: 8px; }
.earlier figure { margin: 0; border: 1px solid var(--border-color-primary); border-radius: 4px; }
.earlier figcaption { font-weight: 600; padding: 4px 8px; }
.earlier .written { min-height: 0; font-size: 13px; }
.legend { display: flex; align-items: center; gap: 8px; font-size: 14px; }
.legend .bar { display: inline-block; width: 160px; height: 14px; border: 1px solid var(--neutral-300); }
.refused { color: #c62828; font-weight: 600; min-height: 1.2em; margin: 0; }
details.sample pre { white-space: pre-wrap; font-size: 13px; }
/* on a narrow screen a plot keeps a readable size and scrolls sideways inside its box, as tables do */
@media (max-width: 700px) {
  .matplotlib { overflow-x: auto; display: block !important; }
  .matplotlib img { width: 640px !important; max-width: none !important; }
}
/* on a narrow screen every tab stays one tap away: the tabs Gradio moves into its "more" menu are shown
   as a second row of the bar, and the menu's button goes */
.tabs .tab-wrapper { flex-wrap: wrap; height: auto; }
.tabs .overflow-menu > button { display: none; }
.tabs .overflow-dropdown, .tabs .overflow-dropdown.hide { display: flex !important; position: static;
  flex-direction: row; flex-wrap: wrap; box-shadow: none; border: 0; padding: 0; background: none;
  min-width: 0; }
"""

# Gradio's default theme, its text at least 4.5 times as bright (or dark) as its background (WCAG AA) and
# its hints large enough for a projector: the default greys hints at 1.9:1 and writes white on orange at 2.8:1
THEME = gr.themes.Default().set(
    body_text_color_subdued="*neutral_600", body_text_color_subdued_dark="*neutral_400",
    block_info_text_color="*neutral_600", block_info_text_color_dark="*neutral_400",
    block_info_text_size="*text_md",
    input_placeholder_color="*neutral_500", input_placeholder_color_dark="*neutral_400",
    color_accent="*primary_700", button_primary_background_fill="*primary_700",
    button_primary_background_fill_hover="*primary_800", button_primary_background_fill_dark="*primary_700",
    button_primary_background_fill_hover_dark="*primary_800")

# Runs once when the page loads. A slider's number box would clamp a typed 7 to 5 without a word: the
# box takes back the value it had and says why, as a paste cut to what its box takes does. A click on a
# coloured character outlines it. A coloured line break ends its line.
SCRIPT = """
() => {
  const BOX = '.bounded input[type=number]';
  const say = (text) => document.querySelectorAll('.refused').forEach((p) => { p.textContent = text; });
  const check = (box) => {
    const value = Number(box.value), low = Number(box.min), high = Number(box.max);
    if (box.value !== '' && value >= low && value <= high) { box.dataset.kept = box.value; return; }
    const name = (box.getAttribute('aria-label') || '').replace('number input for ', '');
    say(`${name}: ${box.value === '' ? 'an empty box' : box.value} is refused, it goes from ${low} to`
        + ` ${high}; it stays ${box.dataset.kept}.`);
    box.value = box.dataset.kept;
    box.dispatchEvent(new Event('input', { bubbles: true }));
  };
  document.addEventListener('focusin', (e) => {
    if (e.target.matches?.(BOX)) { e.target.dataset.kept = e.target.value; say(''); }
  }, true);
  document.addEventListener('blur', (e) => { if (e.target.matches?.(BOX)) check(e.target); }, true);
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && e.target.matches?.(BOX)) check(e.target);
  }, true);
  // the browser cuts a paste to what a box takes (maxlength) without a word: say it
  document.addEventListener('paste', (e) => {
    const box = e.target;
    if (!box.matches?.('textarea[maxlength], input[maxlength]') || box.maxLength < 0) return;
    const pasted = e.clipboardData?.getData('text') ?? '';
    const room = box.maxLength - box.value.length + (box.selectionEnd - box.selectionStart);
    if (pasted.length <= room) return;
    const name = box.closest('label')?.querySelector('span')?.textContent?.trim() || 'this box';
    say(`${name}: the paste of ${pasted.length.toLocaleString('en')} characters is cut to`
        + ` ${box.maxLength.toLocaleString('en')}, the most it takes.`);
  }, true);
  // a line break of a coloured text ends its line, as in the text (its mark, ↵, keeps its colour); the
  // page reuses a token for another character when a new text comes, so every token is looked at again
  new MutationObserver(() => {
    document.querySelectorAll('.coloured .token').forEach((t) => {
      const isBreak = t.textContent.trim() === '↵';
      if (isBreak !== t.hasAttribute('data-break')) t.toggleAttribute('data-break', isBreak);
    });
  }).observe(document.body, { childList: true, subtree: true, characterData: true });
  document.addEventListener('click', (e) => {
    const token = e.target.closest?.('.coloured .score-token');
    if (!token) return;
    const marked = token.closest('.coloured').querySelectorAll('[data-marked]');
    marked.forEach((t) => t.removeAttribute('data-marked'));
    token.setAttribute('data-marked', '');
  }, true);
}
"""


def slider(*args: Any, checked: bool = True, **kwargs: Any) -> gr.Slider:
    """gr.Slider whose out-of-range value from the API is a message without a traceback in the log
    (a value typed in the page is refused by SCRIPT before it is sent). `checked=False`: the value goes
    on to the panel's function, which refuses it itself; for a long job's inputs, which Gradio reads
    before its validator (charlm.app.turns), where a refusal would be a bare HTTP 400. Not a subclass:
    Gradio would write a type stub beside this file for one."""
    made = gr.Slider(*args, **kwargs)
    in_range = made.preprocess

    def preprocess(payload: float) -> float:
        if not checked:
            return payload
        try:
            return in_range(payload)
        except gr.Error as e:
            raise gr.Error(e.message, print_exception=False) from None

    made.preprocess = preprocess  # type: ignore[method-assign]
    return made


def refused_note() -> gr.HTML:
    """Where SCRIPT says which typed value it refused."""
    return gr.HTML('<p class="refused" role="alert"></p>', padding=False)


def shown(fn: Callable[..., Any]) -> Callable[..., Any]:
    """A panel function whose bad input becomes a message on the page (gr.Error), not a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any) -> Any:
        try:
            result = fn(*args)
            if isinstance(result, Iterator):
                yield from result
            else:
                yield result
        except CharlmError as e:
            raise gr.Error(str(e), print_exception=False) from None

    return wrapper


def once(fn: Callable[..., Any]) -> Callable[..., Any]:
    """`shown` for a function that returns once (Gradio treats a generator as streaming)."""
    streaming = shown(fn)

    @functools.wraps(fn)
    def wrapper(*args: Any) -> Any:
        return next(iter(streaming(*args)))

    return wrapper
