# A webhook receiver for tests: checks the Standard Webhooks signature of each POST with
# its own HMAC code (not Vigil's), appends {"ok", "id", "body"} per request to OUT, answers
# 200 or 401, and writes its port to OUT.port.  Usage: webhook-recv.py SECRET OUT
import base64, hashlib, hmac, http.server, json, sys
secret = base64.b64decode(sys.argv[1].split("_", 1)[1])
out = sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["content-length"]))
        mid, ts = self.headers["webhook-id"], self.headers["webhook-timestamp"]
        want = base64.b64encode(hmac.new(secret, b"%s.%s.%s" % (mid.encode(), ts.encode(), body),
                                         hashlib.sha256).digest()).decode()
        ok = ("v1," + want) in self.headers["webhook-signature"].split()
        with open(out, "a") as f:
            f.write(json.dumps({"ok": ok, "id": mid, "body": json.loads(body)}) + "\n")
        self.send_response(200 if ok else 401)
        self.end_headers()
    def log_message(self, *a):
        pass
srv = http.server.HTTPServer(("127.0.0.1", 0), H)
open(out + ".port", "w").write(str(srv.server_port))
srv.serve_forever()
