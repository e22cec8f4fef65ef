// The admin's "Copy" button beside a new API key. A listener here, not an inline onclick: the
// admin's Content-Security-Policy runs no inline handlers.
document.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-copy]");
  if (button) navigator.clipboard.writeText(button.dataset.copy);
});
