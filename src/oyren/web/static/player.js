// Öyrən: the platform's player is framed only when the reader clicks "play", so that no page
// asks the platform for anything before that (the Content-Security-Policy allows frames from
// the player's origin alone).
"use strict";
document.addEventListener("click", (event) => {
  const button = event.target.closest("button.play[data-embed]");
  if (!button) return;
  const frame = document.createElement("iframe");
  frame.src = button.dataset.embed;
  frame.title = button.dataset.title || "";
  frame.className = "player-frame";
  frame.allow = "autoplay; fullscreen; encrypted-media";
  frame.referrerPolicy = "strict-origin-when-cross-origin";
  button.replaceWith(frame);
  frame.focus();
});
