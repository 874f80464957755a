// The event forms: forms.json says which fields a grower fills and how they are labelled;
// the event JSON Schema (the one the server validates with) says what each field accepts.
// Patterns, choices, bounds and whether a field is required are read from the schema here,
// so a form cannot ask for what the schema refuses; tests/api/test_handheld_forms.py checks
// that every path of forms.json is a field of its event's schema.

/** A field the grower must correct; `path` names it, the message is Chinese. */
export class FormError extends Error {
  constructor(path, message) {
    super(message);
    this.path = path;
  }
}

/** Fetch the forms, the event schema and the herb catalogue's names. */
export async function loadForms() {
  const [spec, schema, catalogue] = await Promise.all(
    ["/static/handheld/forms.json", "/handheld/event-body.schema.json", "/handheld/catalogue.json"]
      .map(async (path) => {
        const response = await fetch(path);
        if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
        return response.json();
      }),
  );
  return { ...spec, schema, catalogue };
}

/** "inputs[0].quantity.value" → ["inputs", 0, "quantity", "value"]. */
export function parsePath(path) {
  return path.split(".").flatMap((part) => {
    const m = /^([a-z_]+)\[(\d+)\]$/.exec(part);
    return m ? [m[1], Number(m[2])] : [part];
  });
}

function deref(root, node) {
  let out = node;
  while (out.$ref) out = root.$defs[out.$ref.split("/").pop()];
  return out;
}

/** A field's schema with `$ref` followed and an optional field's `null` branch removed. */
function unwrap(root, node) {
  const plain = deref(root, node);
  if (!plain.anyOf) return plain;
  const parts = plain.anyOf.map((n) => deref(root, n)).filter((n) => n.type !== "null");
  if (parts.length === 1) return parts[0];
  return { type: "string", enum: parts.flatMap((p) => p.enum || []) };
}

/** The schema of `path` in events of `type`, and whether the event must have it. */
export function fieldSchema(root, type, path) {
  let node = deref(root, { $ref: root.discriminator.mapping[type] });
  let required = true;
  for (const key of parsePath(path)) {
    if (typeof key === "number") {
      node = unwrap(root, node.items);
      continue;
    }
    if (!node.properties || !(key in node.properties)) throw new Error(`${type} has no ${path}`);
    required = required && (node.required || []).includes(key);
    node = unwrap(root, node.properties[key]);
  }
  return { node, required };
}

/** The Chinese label of a choice: the herb catalogue's name, forms.json's label, or the code. */
export function choiceLabel(spec, value) {
  return spec.catalogue.herbs[value]?.zh || spec.labels[value] || value;
}

function pattern(source) {
  try {
    return new RegExp(source, "u");
  } catch {
    return new RegExp(source); // a pattern written for non-Unicode mode (e.g. GS1's set)
  }
}

function setPath(body, keys, value) {
  let at = body;
  keys.slice(0, -1).forEach((key, i) => {
    if (at[key] === undefined) at[key] = typeof keys[i + 1] === "number" ? [] : {};
    at = at[key];
  });
  at[keys[keys.length - 1]] = value;
}

/** A local date-time ("2026-05-02T08:30") as RFC 3339 UTC ("2026-05-02T00:30:00Z"). */
function utc(local) {
  const when = new Date(local);
  if (Number.isNaN(when.getTime())) return local;
  return when.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** One value as the schema's type wants it, checked against the schema; undefined if empty. */
function convert(field, node, raw) {
  const bad = (why) => new FormError(field.path, `“${field.label}”${why}`);
  if (node.type === "boolean") return raw ? true : undefined;
  if (node.type === "array") {
    const list = Array.isArray(raw) ? raw : String(raw).split("\n").map((s) => s.trim()).filter(Boolean);
    if (!list.length) return undefined;
    if (node.minItems && list.length < node.minItems) throw bad(`至少要 ${node.minItems} 项`);
    if (node.maxItems && list.length > node.maxItems) throw bad(`最多 ${node.maxItems} 项`);
    return list.map((v) => convert(field, node.items, v));
  }
  const text = String(raw ?? "").trim();
  if (!text) return undefined;
  if (node.type === "integer") {
    if (!/^\d+$/.test(text)) throw bad("应为整数");
    const n = Number(text);
    if (node.minimum !== undefined && n < node.minimum) throw bad(`不能小于 ${node.minimum}`);
    if (node.maximum !== undefined && n > node.maximum) throw bad(`不能大于 ${node.maximum}`);
    return n;
  }
  const value = field.widget === "datetime" ? utc(text) : text;
  if (node.enum && !node.enum.includes(value)) throw bad("不是可选的值");
  if (node.pattern && !pattern(node.pattern).test(value)) throw bad("格式不对");
  if (node.maxLength && value.length > node.maxLength) throw bad(`最多 ${node.maxLength} 个字`);
  return value;
}

/**
 * The event body `form` makes from `values` ({path: string | boolean | string[]}) and the
 * context {batch, site} the fixed fields come from. Throws FormError on the first field
 * that is missing or that the schema would refuse.
 */
export function bodyOf(spec, form, values, context) {
  const body = { type: form.type };
  for (const fixed of form.fixed || []) {
    const value = "value" in fixed ? fixed.value
      : fixed.from === "batch" ? context.batch?.id
      : fixed.from === "herb" ? context.batch?.herb
      : context.site;
    if (value == null) throw new FormError(fixed.path, `缺少“${fixed.label}”，请先打开批次`);
    setPath(body, parsePath(fixed.path), value);
  }
  for (const field of form.fields) {
    const { node, required } = fieldSchema(spec.schema, form.type, field.path);
    const value = convert(field, node, values[field.path]);
    if (value === undefined) {
      if (required || field.required) throw new FormError(field.path, `请填写“${field.label}”`);
      continue;
    }
    setPath(body, parsePath(field.path), value);
  }
  return body;
}

function fieldId(form, field) {
  return `f-${form.id}-${field.path.replace(/[^a-z0-9]+/g, "-")}`;
}

function option(value, label) {
  const o = document.createElement("option");
  o.value = value;
  o.textContent = label;
  return o;
}

/** The input of one field, built from its schema (choices, bounds) and forms.json, and the
 * list of suggestions that goes with it (or null). */
function input(spec, form, field, context) {
  const { node, required } = fieldSchema(spec.schema, form.type, field.path);
  const must = required || Boolean(field.required);
  const id = fieldId(form, field);
  let el;
  let extra = null;
  if (field.widget === "select") {
    el = document.createElement("select");
    if (!must) el.append(option("", "（不填）"));
    const choices = node.enum.filter((v) => !field.choices || field.choices.includes(v));
    el.append(...choices.map((v) => option(v, choiceLabel(spec, v))));
    if (field.default) el.value = field.default;
  } else if (field.widget === "checks") {
    el = document.createElement("fieldset");
    el.className = "checks";
    el.append(...node.items.enum.map((v) => {
      const label = document.createElement("label");
      const box = document.createElement("input");
      box.type = "checkbox";
      box.value = v;
      label.append(box, ` ${choiceLabel(spec, v)}`);
      return label;
    }));
  } else if (field.widget === "lines") {
    el = document.createElement("textarea");
    el.rows = 4;
  } else if (field.widget === "checkbox") {
    el = document.createElement("input");
    el.type = "checkbox";
  } else {
    el = document.createElement("input");
    el.autocomplete = "off";
    if (field.widget === "date") {
      el.type = "date";
      el.value = context.today;
    } else if (field.widget === "datetime") {
      el.type = "datetime-local";
      el.value = context.now;
    } else if (field.widget === "integer") {
      el.inputMode = "numeric";
    } else if (field.widget === "decimal") {
      el.inputMode = "decimal";
    }
    const list = field.widget === "organisation" ? context.names
      : field.widget === "item" ? Object.fromEntries(Object.entries(spec.catalogue.items).map(([k, v]) => [k, v.zh]))
      : null;
    if (list) {
      const datalist = document.createElement("datalist");
      datalist.id = `${id}-list`;
      datalist.append(...Object.entries(list).map(([k, v]) => option(k, v)));
      el.setAttribute("list", datalist.id);
      extra = datalist;
    }
    if (field.default && !el.value) el.value = field.default;
  }
  el.id = id;
  el.dataset.path = field.path;
  if (must && field.widget !== "checks") el.required = true;
  return [el, extra];
}

/** Fill `container` with the fields of `form`: fixed ones shown, the others to fill in. */
export function renderForm(container, spec, form, context) {
  const fixed = document.createElement("dl");
  fixed.className = "fixed";
  for (const f of form.fixed || []) {
    const dt = document.createElement("dt");
    const dd = document.createElement("dd");
    dt.textContent = f.label;
    const value = "value" in f ? choiceLabel(spec, f.value)
      : f.from === "batch" ? context.batch?.id
      : f.from === "herb" ? choiceLabel(spec, context.batch?.herb)
      : context.names?.[context.site] || context.site;
    dd.textContent = value ?? "—";
    dd.dataset.path = f.path;
    fixed.append(dt, dd);
  }
  const parts = [fixed];
  for (const field of form.fields) {
    const [el, extra] = input(spec, form, field, context);
    const label = document.createElement("label");
    if (field.widget === "checkbox") {
      label.className = "inline";
      label.append(el, ` ${field.label}`);
    } else {
      label.htmlFor = el.id;
      label.append(field.label, el.required ? "" : "（选填）", el);
      if (extra) label.append(extra);
    }
    parts.push(label);
  }
  container.replaceChildren(...parts);
}

/** What the grower entered in `form`'s inputs in `container`, by path. */
export function valuesOf(container, form) {
  const values = {};
  for (const field of form.fields) {
    const el = container.querySelector(`[data-path="${field.path}"]`);
    if (!el) continue;
    if (field.widget === "checks") {
      values[field.path] = [...el.querySelectorAll("input:checked")].map((b) => b.value);
    } else if (field.widget === "checkbox") {
      values[field.path] = el.checked;
    } else {
      values[field.path] = el.value;
    }
  }
  return values;
}

/** The label of each filled field of `body`, for the confirmation: [[label, text], …]. */
export function summaryOf(spec, form, values) {
  return form.fields
    .filter((f) => values[f.path] !== undefined && values[f.path] !== "" && values[f.path] !== false
      && !(Array.isArray(values[f.path]) && !values[f.path].length))
    .map((f) => {
      const v = values[f.path];
      const text = Array.isArray(v) ? v.map((x) => choiceLabel(spec, x)).join("、")
        : v === true ? "是" : choiceLabel(spec, String(v));
      return [f.label, text];
    });
}
