// Behaviour of the pages, kept out of the HTML: the Content-Security-Policy runs no inline script
// and no inline event handler (script-src 'self').

// What a person typed and has not saved: a text differing from the value the page was rendered
// with, a changed choice, a chosen file.
function changed(field) {
  if (field instanceof HTMLInputElement) {
    if (["hidden", "submit", "button", "reset"].includes(field.type)) return false;
    if (field.type === "checkbox" || field.type === "radio") return field.checked !== field.defaultChecked;
    if (field.type === "file") return Boolean(field.files && field.files.length);
    return field.value !== field.defaultValue;
  }
  if (field instanceof HTMLTextAreaElement) return field.value !== field.defaultValue;
  if (field instanceof HTMLSelectElement) {
    if (field.multiple) return [...field.options].some((o) => o.selected !== o.defaultSelected);
    // without a `selected` option the browser shows the first one: that is the default
    const marked = [...field.options].map((o) => o.defaultSelected).lastIndexOf(true);
    return field.options.length > 0 && field.selectedIndex !== Math.max(marked, 0);
  }
  return false;
}

// Only forms that save (POST) hold input worth keeping; a search box does not.
function unsaved(form) {
  return form instanceof HTMLFormElement && form.method.toLowerCase() === "post" && [...form.elements].some(changed);
}

// The name a person knows a form by: the label of its first changed field, else its button's text.
function formName(form) {
  const named = (f) => f.getAttribute("aria-label") || (f.labels && f.labels.length && f.labels[0].textContent);
  const field = [...form.elements].find((f) => changed(f) && named(f));
  const text = field ? named(field) : (form.querySelector("button") || {}).textContent;
  return (text || "").trim().replace(/\s+/g, " ");
}

let leaving = false;  // a form is being sent: the page may go without asking again

// Sending one form throws away what was typed into the others, so it asks first; a form with
// data-confirm="consequence" asks too (in one question). "Batal" keeps everything as it was and
// shows the unsaved field.
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement)) return;
  const others = [...document.forms].filter((f) => f !== form && unsaved(f));
  const questions = [];
  if (others.length) {
    const names = others.map(formName).filter(Boolean).join("; ");
    questions.push(
      "Isian yang belum disimpan di formulir lain akan hilang" + (names ? " (" + names + ")" : "") + ". Lanjutkan?"
    );
  }
  if (form.dataset.confirm) questions.push(form.dataset.confirm);
  if (questions.length && !window.confirm(questions.join("\n\n"))) {
    event.preventDefault();
    event.stopImmediatePropagation();
    if (others.length) {
      const field = [...others[0].elements].find(changed);
      if (field) {
        field.scrollIntoView({ block: "center" });
        field.focus();
      }
    }
    return;
  }
  leaving = true;
}, true);

// Leaving the page (a link, reload, closing the tab) with unsaved input: the browser asks.
window.addEventListener("beforeunload", (event) => {
  if (leaving || ![...document.forms].some(unsaved)) return;
  event.preventDefault();
  event.returnValue = "";
});

// A refused form shows why next to its field (data-refusal): bring it into view, focus the field.
document.addEventListener("DOMContentLoaded", () => {
  const message = document.querySelector("[data-refusal]");
  if (!message) return;
  message.scrollIntoView({ block: "center" });
  const field = message.id && document.querySelector(`[aria-describedby~="${message.id}"]`);
  if (field) field.focus({ preventScroll: true });
});
