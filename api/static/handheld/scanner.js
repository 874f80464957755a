// Reading a batch's code with the phone's camera, or from a photo: QR codes (a handheld
// link, a Digital Link, a batch ID) and GS1 DataMatrix codes (GTIN, lot, serial). The
// browser's BarcodeDetector reads them where it exists and knows both formats; elsewhere
// the vendored zxing-wasm decoder (vendor/zxing-wasm, MIT, built from zxing-cpp) does,
// loaded on first use from this origin only.

const FORMATS = ["qr_code", "data_matrix"];
const WASM = "/static/handheld/vendor/zxing-wasm/reader/zxing_reader.wasm";
const FRAME_MS = 250;

let zxing = null;
let detector;

/** The browser's own detector when it reads QR and DataMatrix, else null. */
async function nativeDetector() {
  if (detector !== undefined) return detector;
  detector = null;
  if ("BarcodeDetector" in globalThis) {
    try {
      const known = await globalThis.BarcodeDetector.getSupportedFormats();
      if (FORMATS.every((f) => known.includes(f))) detector = new globalThis.BarcodeDetector({ formats: FORMATS });
    } catch {
      detector = null;
    }
  }
  return detector;
}

/** The text of the first QR or DataMatrix code zxing-wasm finds in `image`, or null. */
async function zxingRead(image) {
  if (!zxing) {
    const module = await import("./vendor/zxing-wasm/es/reader/index.js");
    module.prepareZXingModule({
      overrides: { locateFile: (path, prefix) => (path.endsWith(".wasm") ? WASM : prefix + path) },
      fireImmediately: true,
    });
    zxing = module;
  }
  const found = await zxing.readBarcodes(image, {
    formats: ["QRCode", "DataMatrix"], tryHarder: true, maxNumberOfSymbols: 1,
  });
  return found.find((r) => r.isValid)?.text || null;
}

/** Which decoder this browser uses: "BarcodeDetector" or "zxing-wasm". */
export async function decoderName() {
  return (await nativeDetector()) ? "BarcodeDetector" : "zxing-wasm";
}

/** The text of the code in a photo (a File or Blob), or null when none is found. */
export async function decodePhoto(file) {
  const native = await nativeDetector();
  if (native) {
    const found = await native.detect(await createImageBitmap(file));
    return found[0]?.rawValue || null;
  }
  return zxingRead(file);
}

/**
 * Show the camera in `video` and resolve to the text of the first code seen, or null when
 * `stop` (an AbortSignal) fires first. The camera is released either way.
 */
export async function scanCamera(video, stop) {
  const stream = await navigator.mediaDevices.getUserMedia({
    video: { facingMode: "environment" }, audio: false,
  });
  const canvas = document.createElement("canvas");
  const native = await nativeDetector();
  try {
    video.srcObject = stream;
    await video.play();
    while (!stop.aborted) {
      let text = null;
      if (video.videoWidth) {
        if (native) {
          text = (await native.detect(video))[0]?.rawValue || null;
        } else {
          canvas.width = video.videoWidth;
          canvas.height = video.videoHeight;
          const g = canvas.getContext("2d", { willReadFrequently: true });
          g.drawImage(video, 0, 0);
          text = await zxingRead(g.getImageData(0, 0, canvas.width, canvas.height));
        }
      }
      if (text) return text;
      await new Promise((resolve) => setTimeout(resolve, FRAME_MS));
    }
    return null;
  } finally {
    for (const track of stream.getTracks()) track.stop();
    video.srcObject = null;
  }
}

const GS = "\u001d";
const FIXED = { "00": 18, "01": 14, "02": 14, 11: 6, 13: 6, 15: 6, 17: 6 };

/**
 * The Digital Link path ("/01/{gtin}/10/{lot}[/21/{serial}]") of a GS1 element string, in
 * the bracketed form ("(01)…(10)…") or raw (FNC1 as GS, optionally after "]d2" / "]Q3");
 * null when `text` is not one, or names no GTIN and lot.
 */
export function gs1Path(text) {
  const ais = {};
  if (text.startsWith("(")) {
    for (const m of text.matchAll(/\((\d{2,4})\)([^(]*)/g)) ais[m[1]] = m[2];
  } else {
    let rest = text.replace(/^\](d2|Q3|C1|e0)/, "");
    if (!/^01\d{14}/.test(rest)) return null;
    while (rest.length >= 2) {
      const ai = rest.slice(0, 2);
      const size = FIXED[ai];
      if (size !== undefined) {
        ais[ai] = rest.slice(2, 2 + size);
        rest = rest.slice(2 + size).replace(/^\u001d/, "");
      } else if (ai === "10" || ai === "21") {
        const end = rest.indexOf(GS, 2);
        ais[ai] = rest.slice(2, end < 0 ? undefined : end);
        rest = end < 0 ? "" : rest.slice(end + 1);
      } else {
        break;
      }
    }
  }
  if (!/^\d{14}$/.test(ais["01"] || "") || !ais["10"]) return null;
  const serial = ais["21"] ? `/21/${encodeURIComponent(ais["21"])}` : "";
  return `/01/${ais["01"]}/10/${encodeURIComponent(ais["10"])}${serial}`;
}
