// The REST client: the token lives in sessionStorage (one browser tab, gone
// when it closes). Ids stay strings end to end: they exceed 2^53.
// The server's messages come with stable codes (`error`, `data.codes`): the
// UI shows them in the chosen language, or the server's English text when
// the code is unknown to it.

import { t, has } from "./i18n/index.js";

const TOKEN_KEY = "wxmp.token";
const ADMIN_KEY = "wxmp.admin";
const EXPIRES_KEY = "wxmp.expires_at";

export class ApiError extends Error {
  constructor(status, message, fields = null, data = null) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    /** Field → reason, in the chosen language where the server gave a code. */
    this.fields = fields;
    /** `data` of the error envelope: a 502 from WeChat carries {errcode, errmsg}. */
    this.data = data;
  }

  /** WeChat's errcode when WeChat refused the call (HTTP 502). */
  get errcode() {
    return this.data && typeof this.data.errcode === "number" ? this.data.errcode : null;
  }
}

export const session = {
  get token() {
    const token = sessionStorage.getItem(TOKEN_KEY);
    const expires = sessionStorage.getItem(EXPIRES_KEY);
    if (token && expires && new Date(expires).getTime() <= Date.now()) {
      session.clear();
      return null;
    }
    return token;
  },
  get admin() {
    try {
      return JSON.parse(sessionStorage.getItem(ADMIN_KEY) || "null");
    } catch {
      return null;
    }
  },
  set({ token, admin, expires_at }) {
    sessionStorage.setItem(TOKEN_KEY, token);
    if (expires_at) sessionStorage.setItem(EXPIRES_KEY, expires_at);
    if (admin) sessionStorage.setItem(ADMIN_KEY, JSON.stringify(admin));
  },
  setAdmin(admin) {
    sessionStorage.setItem(ADMIN_KEY, JSON.stringify(admin));
  },
  clear() {
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(ADMIN_KEY);
    sessionStorage.removeItem(EXPIRES_KEY);
  },
};

/** What a status means, for errors whose message the server left terse. */
function describe(status, message) {
  if (message) return message;
  switch (status) {
    case 403: return t("api.forbidden");
    case 404: return t("api.not_found");
    case 409: return t("api.conflict");
    case 413: return t("api.too_large");
    case 429: return t("api.too_many");
    default: return status >= 500 ? t("api.server_failed") : t("api.failed", { status });
  }
}

/** The hint for one of WeChat's errcodes, in the chosen language, or "". */
export function wechatHint(errcode) {
  return errcode !== null && errcode !== undefined && has(`wxhint.${errcode}`) ? t(`wxhint.${errcode}`) : "";
}

/**
 * The message of an error envelope in the chosen language: by its code when
 * the language has it (`err.<code>`), else the server's own text.
 */
export function envelopeMessage(payload, status) {
  const message = payload && typeof payload.msg === "string" ? payload.msg : "";
  const error = payload && payload.error;
  const data = payload && payload.data;
  if (error && error.code === "wechat_error" && data && typeof data.errcode === "number") {
    return t("err.wechat_error", { errcode: data.errcode, errmsg: data.errmsg || "" }) + wechatHint(data.errcode);
  }
  if (error && typeof error.code === "string" && has(`err.${error.code}`)) {
    // The thing a message names ("auto reply 7 not found") in the chosen language.
    const params = { ...error.params };
    if (params.noun && has(`noun.${params.noun}`)) params.noun = t(`noun.${params.noun}`);
    return t(`err.${error.code}`, params);
  }
  return describe(status, message);
}

/** A field's reason in the chosen language: by its code, else as sent. */
function fieldReasons(data) {
  if (!data || !data.fields) return null;
  const codes = data.codes || {};
  const out = {};
  for (const [name, reason] of Object.entries(data.fields)) {
    const coded = codes[name];
    out[name] = coded && has(`reason.${coded.code}`) ? t(`reason.${coded.code}`, coded.params) : reason;
  }
  return out;
}

/**
 * Calls the API. Resolves with `data`; rejects with an ApiError whose message
 * is fit to show. A 401 signs out and sends the browser to the login page.
 */
export async function request(method, path, { query, body, form } = {}) {
  let url = path;
  if (query) {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined && value !== null && value !== "") params.set(key, String(value));
    }
    const qs = params.toString();
    if (qs) url += `?${qs}`;
  }
  const headers = { Accept: "application/json" };
  const token = session.token;
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  // A FormData body sets its own multipart Content-Type with the boundary.
  const payloadBody = form !== undefined ? form : body === undefined ? undefined : JSON.stringify(body);
  let response;
  try {
    response = await fetch(url, { method, headers, body: payloadBody });
  } catch {
    throw new ApiError(0, t("api.unreachable"));
  }
  let payload = null;
  try {
    payload = await response.json();
  } catch {
    payload = null;
  }
  if (response.status === 401 && path !== "/auth/login") {
    session.clear();
    window.dispatchEvent(new CustomEvent("wxmp:unauthorized"));
    throw new ApiError(401, t("api.session_ended"));
  }
  if (!response.ok || !payload || payload.code !== 0) {
    const message = payload && typeof payload.msg === "string" ? payload.msg : "";
    let text = envelopeMessage(payload, response.status);
    if (response.status === 429) {
      const retry = response.headers.get("Retry-After");
      if (retry && !message) text = t("api.retry_in", { seconds: retry });
    }
    if (response.status === 502 && !message) text = t("api.wechat_failed");
    throw new ApiError(response.status, text, fieldReasons(payload && payload.data), payload ? payload.data : null);
  }
  return payload.data;
}

export const api = {
  get: (path, query) => request("GET", path, { query }),
  post: (path, body) => request("POST", path, { body }),
  /** POSTs a multipart form (a FormData). */
  upload: (path, form) => request("POST", path, { form }),
  put: (path, body) => request("PUT", path, { body }),
  del: (path, query) => request("DELETE", path, { query }),
};

/** CRUD on `/wechat/<resource>/…`. */
export function resource(name) {
  const base = `/wechat/${name}`;
  return {
    list: (query) => api.get(`${base}/list`, query),
    add: (row) => api.post(`${base}/add`, row),
    edit: (row) => api.put(`${base}/edit`, row),
    remove: (ids) => api.del(`${base}/del`, { id: [].concat(ids).join(",") }),
  };
}

/** `total` of a list, fetching a single row. */
export async function count(name, query) {
  const data = await api.get(`/wechat/${name}/list`, { ...query, page: 1, page_size: 1 });
  return data.total;
}

/**
 * A file the server keeps (`/wechat/files/<local_path>`) as an object URL:
 * the request needs the Bearer token, so an <img src> cannot fetch it itself.
 * Resolves with null when the file cannot be had. Revoke the URL when done.
 */
export async function fileUrl(localPath) {
  if (!localPath) return null;
  const path = `/wechat/files/${String(localPath).split("/").map(encodeURIComponent).join("/")}`;
  const token = session.token;
  try {
    const response = await fetch(path, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
    if (!response.ok) return null;
    return URL.createObjectURL(await response.blob());
  } catch {
    return null;
  }
}

/**
 * Any authorised GET that answers with a file (e.g. the Native QR code PNG)
 * as an object URL. Rejects with an ApiError fit to show. Revoke when done.
 */
export async function blobUrl(path, query) {
  let url = path;
  if (query) url += `?${new URLSearchParams(query)}`;
  const token = session.token;
  let response;
  try {
    response = await fetch(url, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
  } catch {
    throw new ApiError(0, t("api.unreachable"));
  }
  if (response.status === 401) {
    session.clear();
    window.dispatchEvent(new CustomEvent("wxmp:unauthorized"));
    throw new ApiError(401, t("api.session_ended"));
  }
  if (!response.ok) {
    let payload = null;
    try {
      payload = await response.json();
    } catch {
      payload = null;
    }
    throw new ApiError(response.status, envelopeMessage(payload, response.status));
  }
  return URL.createObjectURL(await response.blob());
}

const fileUrls = new Map();
/**
 * `fileUrl`, fetched once per page load: previews of the same file share one
 * object URL (they live as long as the page; there are few of them).
 */
export function cachedFileUrl(localPath) {
  if (!localPath) return Promise.resolve(null);
  if (!fileUrls.has(localPath)) {
    const pending = fileUrl(localPath).then((url) => {
      if (!url) fileUrls.delete(localPath);
      return url;
    });
    fileUrls.set(localPath, pending);
  }
  return fileUrls.get(localPath);
}
