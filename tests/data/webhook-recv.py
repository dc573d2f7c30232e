# An HTTP receiver for tests: appends {"ok", "id", "body"} per POST to OUT, answers 200
# (or 401 when a signature does not check), and writes its port to OUT.port.
#   webhook-recv.py SECRET OUT [--kill-first]
# SECRET whsec_...: checks the Standard Webhooks signature of each POST with its own HMAC
# code (not Vigil's); SECRET "-": no signature expected (PagerDuty's Events API).
# --kill-first: on the first POST, after writing it down and before answering, kills the
# sending process with SIGKILL (found through the connection's socket in /proc), so that
# the sender dies between a delivery and recording it.
import base64, hashlib, hmac, http.server, json, os, signal, sys
secret = None if sys.argv[1] == "-" else base64.b64decode(sys.argv[1].split("_", 1)[1])
out = sys.argv[2]
kill_first = "--kill-first" in sys.argv[3:]

def peer_pids(port):
    """Processes holding the client end of a loopback connection from PORT."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = open(table).read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            f = row.split()
            if int(f[1].split(":")[1], 16) == port:
                inodes.add("socket:[%s]" % f[9])
    pids = set()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        if int(pid) == os.getpid():
            continue
        try:
            for fd in os.listdir("/proc/%s/fd" % pid):
                if os.readlink("/proc/%s/fd/%s" % (pid, fd)) in inodes:
                    pids.add(int(pid))
        except OSError:
            pass
    return pids

class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        global kill_first
        body = self.rfile.read(int(self.headers["content-length"]))
        mid = self.headers.get("webhook-id")
        ok = True
        if secret is not None:
            ts = self.headers["webhook-timestamp"]
            want = base64.b64encode(hmac.new(secret, b"%s.%s.%s" % (mid.encode(), ts.encode(), body),
                                             hashlib.sha256).digest()).decode()
            ok = ("v1," + want) in self.headers["webhook-signature"].split()
        with open(out, "a") as f:
            f.write(json.dumps({"ok": ok, "id": mid, "path": self.path,
                                "body": json.loads(body)}) + "\n")
        if kill_first:
            kill_first = False
            pids = peer_pids(self.client_address[1])
            for pid in pids:
                os.kill(pid, signal.SIGKILL)
            with open(out + ".killed", "w") as f:
                f.write(" ".join(map(str, sorted(pids))) + "\n")
            return
        self.send_response((200 if secret is not None else 202) if ok else 401)
        if secret is None:
            self.send_header("content-type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"status":"success","message":"Event processed"}')
        else:
            self.end_headers()
    def log_message(self, *a):
        pass
srv = http.server.HTTPServer(("127.0.0.1", 0), H)
open(out + ".port", "w").write(str(srv.server_port))
srv.serve_forever()
