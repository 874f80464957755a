// The verification badge: shows a verifyBundle result as green (every check passed) or red.
//
// The badge element gets data-state="green" | "red" | "pending" and one <li> per check with
// data-kind, data-index and data-ok, so pages and tests can read exactly what failed.

const STYLE = {
  pending: { background: "#eee", color: "#333", border: "#bbb" },
  green: { background: "#e6f4ea", color: "#0b6b2b", border: "#34a853" },
  red: { background: "#fce8e6", color: "#a50e0e", border: "#d93025" },
};

const TITLE = {
  pending: "正在浏览器中验证… Verifying in your browser…",
  green: "✔ 已在浏览器中验证 Verified in your browser",
  red: "✘ 验证失败 Verification failed",
};

function paint(badge, state) {
  const style = STYLE[state];
  badge.dataset.state = state;
  badge.style.cssText =
    `background:${style.background};color:${style.color};border:2px solid ${style.border};` +
    "border-radius:8px;padding:12px 16px;font-family:system-ui,'Noto Sans CJK SC',sans-serif;";
  badge.querySelector(".herbtrace-badge-title").textContent = TITLE[state];
}

/** Create a pending badge inside `container` and return it. */
export function createBadge(container) {
  const badge = document.createElement("section");
  badge.className = "herbtrace-badge";
  badge.setAttribute("role", "status");
  const title = document.createElement("strong");
  title.className = "herbtrace-badge-title";
  badge.append(title);
  container.replaceChildren(badge);
  paint(badge, "pending");
  return badge;
}

/** Show a verifyBundle result on a badge: the verdict, each check and the trust statements. */
export function showResult(badge, result) {
  paint(badge, result.ok ? "green" : "red");
  badge.querySelectorAll("ul, p").forEach((el) => el.remove());
  const list = document.createElement("ul");
  list.style.cssText = "margin:8px 0 0;padding-left:20px;font-size:13px;";
  for (const check of result.checks) {
    const item = document.createElement("li");
    item.dataset.kind = check.kind;
    item.dataset.index = check.index === null ? "" : String(check.index);
    item.dataset.ok = String(check.ok);
    item.textContent = `${check.ok ? "✔" : "✘"} ${check.name}: ${check.detail}`;
    list.append(item);
  }
  badge.append(list);
  for (const sentence of result.trust) {
    const note = document.createElement("p");
    note.style.cssText = "margin:6px 0 0;font-size:12px;opacity:.8;";
    note.textContent = sentence;
    badge.append(note);
  }
}

/** Show an error that stopped verification before any result (e.g. the fetch failed). */
export function showError(badge, message) {
  paint(badge, "red");
  badge.querySelectorAll("ul, p").forEach((el) => el.remove());
  const note = document.createElement("p");
  note.textContent = message;
  badge.append(note);
}
