// The REST client: the token lives in sessionStorage (one browser tab, gone
// when it closes). Ids stay strings end to end: they exceed 2^53.

const TOKEN_KEY = "wxmp.token";
const ADMIN_KEY = "wxmp.admin";
const EXPIRES_KEY = "wxmp.expires_at";

export class ApiError extends Error {
  constructor(status, message, fields = null, data = null) {
    super(message);
    this.name = "ApiError";
    this.status = status;
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
    case 403: return "You are not allowed to do that.";
    case 404: return "Not found.";
    case 409: return "That conflicts with existing data.";
    case 413: return "That is too large for the server.";
    case 429: return "Too many attempts; wait a moment and try again.";
    default: return status >= 500 ? "The server failed to handle the request. Try again later." : `Request failed (HTTP ${status}).`;
  }
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
    throw new ApiError(0, "Cannot reach the wxmp server. Check that it is running and your connection, then try again.");
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
    throw new ApiError(401, "Your session has ended. Please sign in again.");
  }
  if (!response.ok || !payload || payload.code !== 0) {
    const message = payload && typeof payload.msg === "string" ? payload.msg : "";
    const fields = payload && payload.data && payload.data.fields ? payload.data.fields : null;
    let text = describe(response.status, message);
    if (response.status === 429) {
      const retry = response.headers.get("Retry-After");
      if (retry && !message) text = `Too many attempts; try again in ${retry} s.`;
    }
    if (response.status === 502 && !message) text = "WeChat refused the request or could not be reached. Try again later.";
    throw new ApiError(response.status, text, fields, payload ? payload.data : null);
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
    throw new ApiError(0, "Cannot reach the wxmp server. Check that it is running and your connection, then try again.");
  }
  if (response.status === 401) {
    session.clear();
    window.dispatchEvent(new CustomEvent("wxmp:unauthorized"));
    throw new ApiError(401, "Your session has ended. Please sign in again.");
  }
  if (!response.ok) {
    let payload = null;
    try {
      payload = await response.json();
    } catch {
      payload = null;
    }
    throw new ApiError(response.status, describe(response.status, payload && typeof payload.msg === "string" ? payload.msg : ""));
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
