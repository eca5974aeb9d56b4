// Small behaviours shared by every portal page (progressive enhancement: the pages work without it).
for (const button of document.querySelectorAll('[data-action="print"]')) {
  button.addEventListener('click', () => window.print());
}
