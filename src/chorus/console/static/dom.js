// Building elements without innerHTML: every text goes in as text.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on')) el.addEventListener(key.slice(2).toLowerCase(), value);
    else if (key === 'class') el.className = value;
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key in el && typeof value !== 'string') el[key] = value;
    else el.setAttribute(key, value === true ? '' : value);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

let fieldCount = 0;

// A labelled control: <label for> + the control, wrapped in a div.field.
export function field(label, control, hint) {
  control.id ||= `f${++fieldCount}`;
  return h('div', { class: 'field' }, h('label', { for: control.id }, label), control,
    hint ? h('small', {}, hint) : null);
}

export function select(name, options, value) {
  return h('select', { name }, options.map((o) => {
    const [v, text] = Array.isArray(o) ? o : [o, o];
    return h('option', { value: v, selected: v === value }, text);
  }));
}

export function time(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return h('time', { datetime: iso, title: iso }, d.toLocaleTimeString());
}

export function toast(text, kind = 'info') {
  const box = document.getElementById('toast');
  box.className = kind;
  box.textContent = text;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { box.textContent = ''; box.className = ''; }, 5000);
}

export function pretty(value) {
  return h('pre', { class: 'json' }, JSON.stringify(value, null, 2));
}
