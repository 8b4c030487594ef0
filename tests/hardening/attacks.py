"""The issue 12 attacks against the real binary, for README's hardening table (not part of the
test suite: the behaviours are asserted by the Rust tests; this measures them). Needs root for
the immutable-home case (`chattr`). Usage: cargo build -p app-server && python3
tests/hardening/attacks.py [path/to/app-server]. Prints one line of figures per attack."""
import base64, json, os, socket, subprocess, sys, tempfile, threading, time, fcntl, http.server, socketserver
BIN = sys.argv[1] if len(sys.argv) > 1 else "target/debug/app-server"

def b64(d): return base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()
def jwt(claims): return b64({"alg":"none"}) + "." + b64(claims) + ".sig"
def creds(exp, rt="rt-1"):
    return json.dumps({"auth_mode":"chatgpt","OPENAI_API_KEY":None,"tokens":{
        "id_token": jwt({"email":"u@example.com","https://api.openai.com/auth":{"chatgpt_account_id":"ws1"}}),
        "access_token": jwt({"exp": exp}), "refresh_token": rt, "account_id":"ws1"},
        "last_refresh":"2026-11-01T00:00:00Z"})

def hwm(pid):
    for l in open(f"/proc/{pid}/status"):
        if l.startswith("VmHWM"): return int(l.split()[1])//1024
def fds(pid): return len(os.listdir(f"/proc/{pid}/fd"))

class Server:
    def __init__(self, home, env=None, args=()):
        e = {k:v for k,v in os.environ.items() if not k.startswith("CODEX")}
        e.update({"CODEX_HOME": home, "HOME": home, "RUST_LOG": "warn"}); e.update(env or {})
        self.p = subprocess.Popen([BIN, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=e)
        self.id = 0
        self.err = []
        threading.Thread(target=lambda: self.err.extend(self.p.stderr), daemon=True).start()
    def send(self, method, params=None):
        self.id += 1
        self.p.stdin.write((json.dumps({"id": self.id, "method": method, "params": params or {}}) + "\n").encode()); self.p.stdin.flush()
        return self.id
    def read(self, want):
        while True:
            line = self.p.stdout.readline()
            if not line: raise RuntimeError("server closed; stderr: " + b"".join(self.err).decode()[-2000:])
            m = json.loads(line)
            if m.get("id") == want: return m
    def call(self, method, params=None):
        t = time.time(); m = self.read(self.send(method, params)); return m, time.time() - t
    def close(self):
        self.p.stdin.close(); rc = self.p.wait(10); return rc
    def panicked(self): return any(b"panicked" in l for l in self.err)

results = {}
def report(name, **kw):
    results[name] = kw; print(name, kw, flush=True)

INIT = {"clientInfo": {"name": "attack", "version": "1"}}
now = int(time.time())

def file_attack(name, setup):
    home = tempfile.mkdtemp()
    setup(home)
    s = Server(home)
    _, t_init = s.call("initialize", INIT)
    m, t = s.call("getAuthStatus", {"includeToken": True})
    _, t_ua = s.call("getUserAgent")
    report(name, init_s=round(t_init,3), status_s=round(t,3), userAgent_s=round(t_ua,3), authMethod=m["result"]["authMethod"], peak_rss_mb=hwm(s.p.pid), panics=int(s.panicked()), exit=s.close())

file_attack("fifo_auth_json", lambda h: os.mkfifo(h + "/auth.json"))
file_attack("dev_zero_symlink", lambda h: os.symlink("/dev/zero", h + "/auth.json"))
def big(h):
    with open(h + "/auth.json", "wb") as f: f.truncate(200 << 20)
file_attack("auth_json_200MB", big)
file_attack("fifo_refresh_failure", lambda h: (open(h+"/auth.json","w").write(creds(now+3600)), os.mkfifo(h + "/auth.json.refresh-failure")))

# Stale temp files.
home = tempfile.mkdtemp()
open(home + "/auth.json", "w").write(creds(now + 3600))
old = time.time() - 600
for i in range(80):
    p = f"{home}/.auth.json.tmp-{i:012d}"; open(p, "w").write(creds(now + 3600, "secret")); os.utime(p, (old, old))
s = Server(home); s.call("initialize", INIT)
left = len([n for n in os.listdir(home) if ".tmp-" in n]); s.close()
report("stale_temp_files", created=80, left_after_start=left)

# Issuer attacks.
class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    mode = "huge"
    count = 0
    def log_message(self, *a): pass
    def do_POST(self):
        Handler.count += 1
        n = int(self.headers.get("content-length", 0)); self.rfile.read(n)
        if Handler.mode == "hang":
            time.sleep(60); return
        if Handler.mode == "device" and self.path.endswith("/usercode"):
            body = json.dumps({"device_auth_id": "d", "user_code": "ABCD", "interval": "18446744073709551615"}).encode()
            self.send_response(200); self.send_header("content-length", str(len(body))); self.end_headers(); self.wfile.write(body); return
        if Handler.mode == "device":
            self.send_response(403); self.send_header("content-length", "0"); self.end_headers(); return
        self.send_response(200); self.send_header("content-type", "application/json"); self.send_header("transfer-encoding", "chunked"); self.end_headers()
        chunk = b" " * 65536
        try:
            for _ in range((512 << 20) // 65536):
                self.wfile.write(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
        except Exception: pass
class TS(socketserver.ThreadingMixIn, http.server.HTTPServer): daemon_threads = True
issuer = TS(("127.0.0.1", 0), Handler); threading.Thread(target=issuer.serve_forever, daemon=True).start()
iurl = f"http://127.0.0.1:{issuer.server_address[1]}"

home = tempfile.mkdtemp(); open(home + "/auth.json", "w").write(creds(now - 60))
s = Server(home, {"CODEX_REFRESH_TOKEN_URL_OVERRIDE": iurl + "/oauth/token"}); s.call("initialize", INIT)
m, t = s.call("getAuthStatus", {"includeToken": True, "refreshToken": True, "includeRefreshFailure": True})
report("issuer_512MB_chunked_answer", answer_s=round(t,3), peak_rss_mb=hwm(s.p.pid), failure=m["result"].get("refreshFailure"), panics=int(s.panicked()), exit=s.close())

Handler.mode = "hang"; Handler.count = 0
home = tempfile.mkdtemp(); open(home + "/auth.json", "w").write(creds(now + 120))
s = Server(home, {"CODEX_REFRESH_TOKEN_URL_OVERRIDE": iurl + "/oauth/token"}); s.call("initialize", INIT)
times = [s.call("getAuthStatus", {"includeToken": True})[1] for _ in range(20)]
m, t_req = s.call("getAuthStatus", {"includeToken": True, "refreshToken": True})
report("hung_issuer_valid_token", polls=20, max_poll_s=round(max(times),3), requested_refresh_s=round(t_req,3), token_served=m["result"]["authToken"] is not None, issuer_requests=Handler.count, exit=s.close())

Handler.mode = "device"
home = tempfile.mkdtemp()
s = Server(home, {"CODEX_APP_SERVER_LOGIN_ISSUER": iurl}); s.call("initialize", INIT)
m, _ = s.call("account/login/start", {"type": "chatgptDeviceCode"})
time.sleep(1.5)
m2, t = s.call("getUserAgent")
report("device_interval_2pow64", start=("result" in m), alive_after=("result" in m2), panics=int(s.panicked()), exit=s.close())

# Lock held by another process.
home = tempfile.mkdtemp(); open(home + "/auth.json", "w").write(creds(now - 60))
lockf = open(home + "/auth.json.lock", "w"); fcntl.flock(lockf, fcntl.LOCK_EX)
Handler.mode = "huge"; Handler.count = 0
s = Server(home, {"CODEX_REFRESH_TOKEN_URL_OVERRIDE": iurl + "/oauth/token"})
_, t_init = s.call("initialize", INIT)
t0 = time.time(); ids = [s.send("getAuthStatus", {"includeToken": True, "refreshToken": True}) for _ in range(5)]
ans = []
for i in ids: s.read(i); ans.append(round(time.time() - t0, 2))
report("lock_held_elsewhere", initialize_s=round(t_init,3), five_pipelined_refresh_answers_at_s=ans, issuer_requests=Handler.count, exit=s.close())
fcntl.flock(lockf, fcntl.LOCK_UN)

# Slowloris on the callback server.
home = tempfile.mkdtemp()
s = Server(home, {"CODEX_APP_SERVER_LOGIN_ISSUER": iurl}, ["--login-port", "0"]); s.call("initialize", INIT)
m, _ = s.call("account/login/start", {"type": "chatgpt"})
url = m["result"]["authUrl"]; import urllib.parse as up
redirect = up.parse_qs(up.urlparse(url).query)["redirect_uri"][0]; port = up.urlparse(redirect).port
base_fds = fds(s.p.pid)
socks = []
for _ in range(1000):
    c = socket.create_connection(("127.0.0.1", port)); c.send(b"GET /auth/callback HTTP/1.1\r\n"); socks.append(c)
time.sleep(0.5)
peak = fds(s.p.pid)
time.sleep(11)
after = fds(s.p.pid)
c = socket.create_connection(("127.0.0.1", port)); c.send(b"GET /cancel HTTP/1.1\r\nHost: x\r\n\r\n"); resp = c.recv(100)
_, t_ua = s.call("getUserAgent")
report("slowloris_callback_1000_idle", fds_before=base_fds, fds_with_1000_idle=peak, fds_after_header_timeout=after, cancel_without_state=resp.split(b"\r\n")[0].decode(), server_answers_s=round(t_ua,3), peak_rss_mb=hwm(s.p.pid), exit=s.close())
for c in socks: c.close()

# Read-only home (immutable dir).
home = tempfile.mkdtemp(); open(home + "/auth.json", "w").write(creds(now - 60))
Handler.count = 0; Handler.mode = "huge"
s = Server(home, {"CODEX_REFRESH_TOKEN_URL_OVERRIDE": iurl + "/oauth/token"}); s.call("initialize", INIT)
subprocess.run(["chattr", "+i", home], check=True)
m, t = s.call("getAuthStatus", {"includeToken": True, "refreshToken": True})
subprocess.run(["chattr", "-i", home], check=True)
report("read_only_home", issuer_requests=Handler.count, authMethod=m["result"]["authMethod"], exit=s.close())

