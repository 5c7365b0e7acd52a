// Öyrən: a juror orders a batch of videos by dragging them or with the arrow keys. The order
// is what the place boxes say (they stay for keyboards, screen readers and pages without
// script): moving a video rewrites the boxes, and changing a box moves the video.
"use strict";
(function () {
  const list = document.querySelector("ol.ballot-videos.order");
  if (!list) return;
  const items = () => Array.from(list.querySelectorAll(":scope > li"));

  function renumber() {
    items().forEach((item, index) => {
      item.querySelector("select[name=place]").value = String(index + 1);
      item.querySelector(".place-label").textContent = String(index + 1);
    });
  }

  let dragged = null;
  list.addEventListener("dragstart", (event) => {
    dragged = event.target.closest("li");
    if (!dragged) return;
    dragged.classList.add("dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", dragged.dataset.video);
  });
  list.addEventListener("dragover", (event) => {
    if (!dragged) return;
    event.preventDefault();
    const over = event.target.closest("li");
    if (!over || over === dragged) return;
    // Moving down the list puts it after the video it is over, moving up puts it before.
    const order = items();
    const after = order.indexOf(dragged) < order.indexOf(over);
    over.parentNode.insertBefore(dragged, after ? over.nextSibling : over);
  });
  list.addEventListener("drop", (event) => {
    event.preventDefault();
    renumber();
  });
  list.addEventListener("dragend", () => {
    if (dragged) dragged.classList.remove("dragging");
    dragged = null;
    renumber();
  });

  list.addEventListener("keydown", (event) => {
    const item = event.target;
    if (item.parentNode !== list || (event.key !== "ArrowUp" && event.key !== "ArrowDown")) return;
    event.preventDefault();
    if (event.key === "ArrowUp" && item.previousElementSibling) {
      list.insertBefore(item, item.previousElementSibling);
    } else if (event.key === "ArrowDown" && item.nextElementSibling) {
      list.insertBefore(item.nextElementSibling, item);
    }
    renumber();
    item.focus();
  });

  list.addEventListener("change", (event) => {
    const select = event.target.closest("select[name=place]");
    if (!select) return;
    const item = select.closest("li");
    const others = items().filter((other) => other !== item);
    others.splice(Number(select.value) - 1, 0, item);
    others.forEach((other) => list.appendChild(other));
    renumber();
  });
})();
