// Behaviour of the pages, kept out of the HTML: the Content-Security-Policy runs no inline script
// and no inline event handler (script-src 'self').

// A form with data-confirm="question" asks before it is sent; "Batal" keeps it unsent.
document.addEventListener("submit", (event) => {
  const form = event.target;
  const question = form instanceof HTMLFormElement ? form.dataset.confirm : undefined;
  if (question && !window.confirm(question)) {
    event.preventDefault();
    event.stopImmediatePropagation();
  }
}, true);
