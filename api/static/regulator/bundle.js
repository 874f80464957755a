// The audit bundle download: fetched with the token (a plain link could not send it).

import { apiFetch } from "./session.js";

function filename(response) {
  const match = /filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") || "");
  return match ? match[1] : "herbtrace-bundle.jsonl.gz";
}

/** Wire the download button: GET /v1/log/bundle?compression=gzip, saved as a file. */
export function setupBundle() {
  const button = document.getElementById("bundle-download");
  const status = document.getElementById("bundle-status");
  button.addEventListener("click", async () => {
    button.disabled = true;
    status.textContent = "正在导出… Exporting…";
    try {
      const response = await apiFetch("/v1/log/bundle?compression=gzip");
      const blob = await response.blob();
      const link = document.createElement("a");
      link.href = URL.createObjectURL(blob);
      link.download = filename(response);
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
      status.textContent = `已下载 Downloaded ${link.download} (${blob.size} bytes)`;
    } catch (err) {
      status.textContent = `下载失败 Download failed: ${err.message}`;
    } finally {
      button.disabled = false;
    }
  });
}
