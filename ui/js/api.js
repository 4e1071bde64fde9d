// The REST client: the token lives in sessionStorage (one browser tab, gone
// when it closes). Ids stay strings end to end: they exceed 2^53.

const TOKEN_KEY = "wxmp.token";
const ADMIN_KEY = "wxmp.admin";
const EXPIRES_KEY = "wxmp.expires_at";

export class ApiError extends Error {
  constructor(status, message, fields = null) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.fields = fields;
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
export async function request(method, path, { query, body } = {}) {
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
  let response;
  try {
    response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
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
    throw new ApiError(response.status, text, fields);
  }
  return payload.data;
}

export const api = {
  get: (path, query) => request("GET", path, { query }),
  post: (path, body) => request("POST", path, { body }),
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
